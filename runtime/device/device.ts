// Reusable Device (/3) behaviours by resource id: a ticking Current Time, validated UTC Offset and Timezone, the Error Code list, Reboot and Factory Reset.
import { systemClock, type Clock, type TimerHandle } from '../coap/clock.js';
import { BadRequestError, ValueError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';
import type { AfterResponseTask, ExecuteArguments } from '../object/execute-args.js';
import type { ObjectInstance } from '../object/instance.js';

/** Resource ids of the Device object (/3) these behaviours serve. */
export const DeviceResourceId = {
  REBOOT: 4,
  FACTORY_RESET: 5,
  ERROR_CODE: 11,
  RESET_ERROR_CODE: 12,
  CURRENT_TIME: 13,
  UTC_OFFSET: 14,
  TIMEZONE: 15,
} as const;

export const DEVICE_OBJECT = 3;

const UTC_OFFSET = /^(?:UTC)?([+-])(\d{2})(?::?(\d{2}))?$/;

/**
 * Normalizes a UTC Offset (/3/x/14) to `UTC±HH:MM`, or throws ValueError. Accepted: `UTC+01:00`, `UTC-0530`,
 * `+02`, `UTC` and `Z`; offsets run from -12:00 to +14:00 as real time zones do.
 */
export function parseUtcOffset(text: string, path?: Lwm2mPath): string {
  if (text === 'UTC' || text === 'Z') return 'UTC+00:00';
  const m = UTC_OFFSET.exec(text);
  if (!m) throw new ValueError(`UTC Offset "${text}" is not of the form UTC±HH:MM`, path);
  const sign = m[1]!;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? '0');
  const total = (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
  if (minutes > 59 || total < -12 * 60 || total > 14 * 60) {
    throw new ValueError(`UTC Offset "${text}" is outside UTC-12:00..UTC+14:00`, path);
  }
  return `UTC${sign}${m[2]}:${String(minutes).padStart(2, '0')}`;
}

/** Checks an IANA time zone name (/3/x/15) against the zones this Node's ICU knows; throws ValueError otherwise. */
export function checkTimezone(name: string, path?: Lwm2mPath): string {
  // Intl accepts offsets like "+01:00" as time zones too; the resource wants a name.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) throw new ValueError(`"${name}" is not an IANA time zone name`, path);
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
  } catch {
    throw new ValueError(`unknown time zone "${name}"`, path);
  }
  return name;
}

export interface DeviceClockOptions {
  /** Timers for the tick; a ManualClock in tests. Default the system clock. */
  readonly clock?: Clock;
  /** Wall-clock milliseconds since the epoch; Date.now by default. */
  readonly wallClock?: () => number;
  /** Called once a second (and after a server sets the time) so observers of Current Time are notified. */
  readonly onTick?: () => void;
}

/**
 * The Current Time (/3/x/13) of a device: the wall clock plus an offset a server write sets, read in whole
 * seconds (the resolution of the Time type). One timer, re-armed each second on the second boundary.
 */
export class DeviceClock {
  readonly #timers: Clock;
  readonly #wall: () => number;
  readonly #onTick: (() => void) | undefined;
  #offsetMs = 0;
  #timer: TimerHandle | undefined;

  constructor(options: DeviceClockOptions = {}) {
    this.#timers = options.clock ?? systemClock;
    this.#wall = options.wallClock ?? Date.now;
    this.#onTick = options.onTick;
  }

  /** The device time now, truncated to the second. */
  now(): Date {
    const ms = this.#wall() + this.#offsetMs;
    return new Date(Math.floor(ms / 1000) * 1000);
  }

  /** Sets the clock (a server Write of Current Time); it keeps ticking from there. */
  set(time: Date): void {
    const t = time.getTime();
    if (!Number.isFinite(t)) throw new ValueError('Current Time is not a valid time');
    this.#offsetMs = t - this.#wall();
    if (this.#timer !== undefined) this.#arm();
  }

  /** How far the device clock is ahead of the wall clock, in ms (persist it to survive a reboot). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Back to the wall clock (a Factory Reset). */
  reset(): void {
    this.#offsetMs = 0;
    if (this.#timer !== undefined) this.#arm();
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts ticking; a second start() keeps the one timer. */
  start(): void {
    if (this.#timer === undefined) this.#arm();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    // Fire just after the device time crosses the next whole second, so each tick shows a new value.
    const ms = this.#wall() + this.#offsetMs;
    const delay = 1000 - (((ms % 1000) + 1000) % 1000);
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#arm();
      this.#onTick?.();
    }, delay);
  }
}

/**
 * The Error Code list (/3/x/11): the errors the device has now, in the order they appeared. With no error the
 * resource holds a single instance 0 with value 0, as the object definition asks.
 */
export class ErrorCodeList {
  readonly #codes: number[] = [];
  readonly #onChange: (() => void) | undefined;

  constructor(onChange?: () => void) {
    this.#onChange = onChange;
  }

  /** Adds an error (1..32); true when it was not already listed. */
  add(code: number): boolean {
    if (!Number.isInteger(code) || code < 1 || code > 32) throw new ValueError(`error code ${code} is not in 1..32`);
    if (this.#codes.includes(code)) return false;
    this.#codes.push(code);
    this.#onChange?.();
    return true;
  }

  /** Removes an error; true when it was listed. */
  remove(code: number): boolean {
    const i = this.#codes.indexOf(code);
    if (i < 0) return false;
    this.#codes.splice(i, 1);
    this.#onChange?.();
    return true;
  }

  /** Clears every error (what Reset Error Code does). */
  clear(): void {
    if (this.#codes.length === 0) return;
    this.#codes.length = 0;
    this.#onChange?.();
  }

  has(code: number): boolean {
    return this.#codes.includes(code);
  }

  get codes(): readonly number[] {
    return [...this.#codes];
  }

  /** The resource's content: instances 0..n-1, or the single 0 instance when there is no error. */
  content(): ReadonlyMap<number, number> {
    if (this.#codes.length === 0) return new Map([[0, 0]]);
    return new Map(this.#codes.map((c, i) => [i, c]));
  }
}

/** What the device does on Reboot and Factory Reset; both run after the 2.04 has been sent. */
export type DeviceAction = (args: ExecuteArguments) => void | Promise<void>;

export interface DeviceBehaviourOptions extends Omit<DeviceClockOptions, 'onTick'> {
  /**
   * Tells the instance's observers that a computed resource changed: pass `(id) => this.markChanged(id)`
   * from the class that extends the generated Device class (markChanged is protected there).
   */
  readonly markChanged: (resourceId: number) => void;
  readonly onReboot?: DeviceAction;
  readonly onFactoryReset?: DeviceAction;
  /** Errors from onReboot/onFactoryReset, which run after the response and so cannot answer the server. */
  readonly onActionError?: (error: Error, action: 'reboot' | 'factory-reset') => void;
  /** What a Factory Reset writes back into UTC Offset and Timezone (left alone when absent). */
  readonly factoryUtcOffset?: string;
  readonly factoryTimezone?: string;
}

/**
 * The Device object's behaviours, for a class extending the generated Device class (the runtime cannot import
 * generated code, so it works by resource id). Wire each hook to one call:
 *
 * ```ts
 * class MyDevice extends DeviceBase {
 *   readonly behaviour = new DeviceBehaviour(this, { markChanged: (id) => this.markChanged(id), onReboot: () => restart() });
 *   protected override onReadCurrentTime() { return this.behaviour.clock.now(); }
 *   protected override onWriteCurrentTime(v: Date, prev: Date | undefined) { this.behaviour.writeCurrentTime(v, prev); }
 *   protected override onWriteUtcOffset(v: string) { this.behaviour.checkUtcOffset(v); }
 *   protected override onWriteTimezone(v: string) { this.behaviour.checkTimezone(v); }
 *   protected override onReadErrorCode() { return this.behaviour.errors.content(); }
 *   override resetErrorCode(a: ExecuteArguments) { this.behaviour.resetErrorCode(a); }
 *   reboot(a: ExecuteArguments) { this.behaviour.reboot(a); }
 *   override factoryReset(a: ExecuteArguments) { this.behaviour.factoryReset(a); }
 * }
 * ```
 * Write hooks only check: a Write is all or nothing (ObjectInstance.writeResources runs every hook before
 * storing anything), so a written Current Time is applied to the clock only once the instance has stored it.
 */
export class DeviceBehaviour {
  readonly instance: ObjectInstance;
  readonly clock: DeviceClock;
  readonly errors: ErrorCodeList;
  readonly #o: DeviceBehaviourOptions;
  #pendingTime: Date | undefined;
  readonly #unsubscribe: () => void;

  constructor(instance: ObjectInstance, options: DeviceBehaviourOptions) {
    if (instance.definition.id !== DEVICE_OBJECT) {
      throw new BadRequestError(`DeviceBehaviour serves object ${DEVICE_OBJECT}, not ${instance.definition.id}`);
    }
    this.instance = instance;
    this.#o = options;
    this.clock = new DeviceClock({
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.wallClock ? { wallClock: options.wallClock } : {}),
      onTick: () => options.markChanged(DeviceResourceId.CURRENT_TIME),
    });
    this.errors = new ErrorCodeList(() => options.markChanged(DeviceResourceId.ERROR_CODE));
    if (options.factoryUtcOffset !== undefined) parseUtcOffset(options.factoryUtcOffset, this.#path(DeviceResourceId.UTC_OFFSET));
    if (options.factoryTimezone !== undefined) checkTimezone(options.factoryTimezone, this.#path(DeviceResourceId.TIMEZONE));
    this.#unsubscribe = instance.onChange((_inst, resourceId, source) => {
      if (resourceId !== DeviceResourceId.CURRENT_TIME || source !== 'server' || this.#pendingTime === undefined) return;
      this.clock.set(this.#pendingTime);
      this.#pendingTime = undefined;
    });
  }

  #path(resourceId: number): Lwm2mPath {
    return this.instance.path(resourceId);
  }

  /** Starts the Current Time tick (observers hear of it each second). */
  start(): void {
    this.clock.start();
  }

  /** Stops the tick: call it when the device shuts down so no timer keeps the process alive. */
  stop(): void {
    this.clock.stop();
  }

  /** Stops the tick and lets go of the instance for good. */
  dispose(): void {
    this.stop();
    this.#unsubscribe();
  }

  /** The write hook of Current Time: checks the value; the clock takes it once the Write has been stored. */
  writeCurrentTime(value: Date, previous?: Date): void {
    if (!Number.isFinite(value.getTime())) throw new ValueError('Current Time is not a valid time', this.#path(DeviceResourceId.CURRENT_TIME));
    if (previous !== undefined && previous.getTime() === value.getTime()) {
      // The store sees no change and stays silent, so nothing else would tell the clock.
      this.clock.set(value);
      this.#o.markChanged(DeviceResourceId.CURRENT_TIME);
      return;
    }
    this.#pendingTime = value;
  }

  /** The write hook of UTC Offset: refuses anything but UTC±HH:MM (see parseUtcOffset) with a 4.00. */
  checkUtcOffset(value: string): void {
    parseUtcOffset(value, this.#path(DeviceResourceId.UTC_OFFSET));
  }

  /** The write hook of Timezone: refuses names this Node's time zone database does not know, with a 4.00. */
  checkTimezone(value: string): void {
    checkTimezone(value, this.#path(DeviceResourceId.TIMEZONE));
  }

  resetErrorCode(_args?: ExecuteArguments): void {
    this.errors.clear();
  }

  /** Reboot (/3/x/4): answered 2.04 first, then onReboot runs. */
  reboot(args: ExecuteArguments): void {
    this.#defer(args, 'reboot', this.#o.onReboot);
  }

  /**
   * Factory Reset (/3/x/5): answered 2.04 first; then the clock follows the wall clock again, UTC Offset and
   * Timezone take their factory values, the error list empties, and onFactoryReset runs.
   */
  factoryReset(args: ExecuteArguments): void {
    this.#defer(args, 'factory-reset', async (a) => {
      this.clock.reset();
      this.#o.markChanged(DeviceResourceId.CURRENT_TIME);
      const values = new Map<number, string>();
      if (this.#o.factoryUtcOffset !== undefined) values.set(DeviceResourceId.UTC_OFFSET, this.#o.factoryUtcOffset);
      if (this.#o.factoryTimezone !== undefined) values.set(DeviceResourceId.TIMEZONE, this.#o.factoryTimezone);
      if (values.size > 0) await this.instance.writeResources(values, 'replace');
      this.errors.clear();
      await this.#o.onFactoryReset?.(a);
    });
  }

  #defer(args: ExecuteArguments, action: 'reboot' | 'factory-reset', fn: DeviceAction | undefined): void {
    if (!fn) return;
    const task: AfterResponseTask = async () => {
      try {
        await fn(args);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (this.#o.onActionError) this.#o.onActionError(error, action);
        else throw error;
      }
    };
    args.afterResponse(task);
  }
}
