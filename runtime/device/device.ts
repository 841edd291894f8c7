// The standard Device (/3) behaviour by resource id: a ticking Current Time, validated UTC Offset and Timezone, the Error Code list, Reboot and Factory Reset after the response.
import { systemClock, type Clock, type TimerHandle } from '../coap/clock.js';
import { BadRequestError, ValueError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';
import type { ExecuteArguments } from '../object/execute-args.js';
import { attachResourceBehaviour, type ExecuteHandler, type ObjectInstance, type ResourceBehaviour } from '../object/instance.js';

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
    // A clock tick is not work: it must not keep a process alive whose client has stopped.
    (this.#timer as { unref?: () => void } | undefined)?.unref?.();
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

export interface DeviceBehaviourOptions extends Omit<DeviceClockOptions, 'onTick'> {
  /** What a Factory Reset writes back into UTC Offset and Timezone (left alone when absent). */
  readonly factoryUtcOffset?: string;
  readonly factoryTimezone?: string;
}

/**
 * The Device object's standard behaviour, attached to an instance by resource id (the runtime cannot import
 * generated code): the app's class only says what is specific to its device. `withDeviceBehaviour` is the usual
 * way to get it; this class is what that mixin attaches.
 *
 * - Current Time (13) ticks: a server write sets the device clock, reads return it, observers hear each second.
 * - UTC Offset (14) and Timezone (15) writes are checked (4.00 for `UTC+25:00` or an unknown zone).
 * - Error Code (11) reads the `errors` list; Reset Error Code (12) clears it, then runs the app's handler if any.
 * - Reboot (4): answered 2.04 first, then the app's `reboot` runs.
 * - Factory Reset (5): answered 2.04 first; then the clock follows the wall clock again, UTC Offset and Timezone
 *   take their factory values, the error list empties, and the app's `factoryReset` runs if it has one.
 *
 * Errors of what runs after the response reach the client's 'error' event. Write checks only check: a Write is all
 * or nothing, so a written Current Time is applied to the clock once the instance has stored it.
 */
export class DeviceBehaviour {
  readonly instance: ObjectInstance;
  readonly errors: ErrorCodeList;
  readonly #markChanged: (resourceId: number) => void;
  #options: DeviceBehaviourOptions;
  #clock: DeviceClock;
  #pendingTime: Date | undefined;
  readonly #unsubscribe: () => void;

  /** `markChanged` tells the instance's observers a computed resource changed (ObjectInstance.markChanged). */
  constructor(instance: ObjectInstance, markChanged: (resourceId: number) => void, options: DeviceBehaviourOptions = {}) {
    if (instance.definition.id !== DEVICE_OBJECT) {
      throw new BadRequestError(`DeviceBehaviour serves object ${DEVICE_OBJECT}, not ${instance.definition.id}`);
    }
    this.instance = instance;
    this.#markChanged = markChanged;
    this.#options = {};
    this.#clock = this.#newClock({});
    this.configure(options);
    this.errors = new ErrorCodeList(() => markChanged(DeviceResourceId.ERROR_CODE));
    const R = DeviceResourceId;
    this.#attach(R.CURRENT_TIME, { read: () => this.#clock.now(), write: (v, prev) => this.#writeCurrentTime(v as Date, prev as Date | undefined) });
    this.#attach(R.UTC_OFFSET, { write: (v) => { parseUtcOffset(String(v), this.#path(R.UTC_OFFSET)); } });
    this.#attach(R.TIMEZONE, { write: (v) => { checkTimezone(String(v), this.#path(R.TIMEZONE)); } });
    this.#attach(R.ERROR_CODE, { read: () => this.errors.content() });
    this.#attach(R.RESET_ERROR_CODE, { execute: (args, app) => { this.errors.clear(); return app?.(args); } });
    this.#attach(R.REBOOT, { execute: (args, app) => this.#after(args, app) });
    this.#attach(R.FACTORY_RESET, { execute: (args, app) => this.#after(args, app, () => this.#factoryReset()) });
    this.#unsubscribe = instance.onChange((_inst, resourceId, source) => {
      if (resourceId !== R.CURRENT_TIME || source !== 'server' || this.#pendingTime === undefined) return;
      this.#clock.set(this.#pendingTime);
      this.#pendingTime = undefined;
    });
    this.#clock.start();
  }

  /** The device clock behind Current Time. */
  get clock(): DeviceClock {
    return this.#clock;
  }

  /**
   * Changes the options: the clock (a ManualClock in tests) and the factory values of UTC Offset and Timezone.
   * Throws ValueError for a factory value the resource would refuse.
   */
  configure(options: DeviceBehaviourOptions): this {
    if (options.factoryUtcOffset !== undefined) parseUtcOffset(options.factoryUtcOffset, this.#path(DeviceResourceId.UTC_OFFSET));
    if (options.factoryTimezone !== undefined) checkTimezone(options.factoryTimezone, this.#path(DeviceResourceId.TIMEZONE));
    const next = { ...this.#options, ...options };
    if (options.clock !== undefined || options.wallClock !== undefined) {
      const running = this.#clock.running;
      const offset = this.#clock.offsetMs;
      this.#clock.stop();
      this.#clock = this.#newClock(next);
      // A clock the server has set keeps its time across the swap.
      if (offset !== 0) this.#clock.set(new Date(this.#clock.now().getTime() + offset));
      if (running) this.#clock.start();
    }
    this.#options = next;
    return this;
  }

  #newClock(o: DeviceBehaviourOptions): DeviceClock {
    return new DeviceClock({
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.wallClock ? { wallClock: o.wallClock } : {}),
      onTick: () => this.#markChanged(DeviceResourceId.CURRENT_TIME),
    });
  }

  #attach(resourceId: number, behaviour: ResourceBehaviour): void {
    // Hand-written or older Device models may leave optional resources out.
    if (this.instance.definition.resource(resourceId)) attachResourceBehaviour(this.instance, resourceId, behaviour);
  }

  #path(resourceId: number): Lwm2mPath {
    return this.instance.path(resourceId);
  }

  /** Starts the Current Time tick (running from the start; after stop() call it again). */
  start(): void {
    this.#clock.start();
  }

  /** Stops the tick (it never keeps the process alive on the system clock, but a ManualClock counts it). */
  stop(): void {
    this.#clock.stop();
  }

  /** Stops the tick and lets go of the instance's change events for good. */
  dispose(): void {
    this.stop();
    this.#unsubscribe();
  }

  #writeCurrentTime(value: Date, previous: Date | undefined): void {
    if (!Number.isFinite(value.getTime())) throw new ValueError('Current Time is not a valid time', this.#path(DeviceResourceId.CURRENT_TIME));
    if (previous !== undefined && previous.getTime() === value.getTime()) {
      // The store sees no change and stays silent, so nothing else would tell the clock.
      this.#clock.set(value);
      this.#markChanged(DeviceResourceId.CURRENT_TIME);
      return;
    }
    this.#pendingTime = value;
  }

  async #factoryReset(): Promise<void> {
    this.#clock.reset();
    this.#markChanged(DeviceResourceId.CURRENT_TIME);
    const values = new Map<number, string>();
    if (this.#options.factoryUtcOffset !== undefined) values.set(DeviceResourceId.UTC_OFFSET, this.#options.factoryUtcOffset);
    if (this.#options.factoryTimezone !== undefined) values.set(DeviceResourceId.TIMEZONE, this.#options.factoryTimezone);
    if (values.size > 0) await this.instance.writeResources(values, 'replace');
    this.errors.clear();
  }

  /** Answers the Execute now; the standard part and then the app's handler run once the 2.04 is out. */
  #after(args: ExecuteArguments, app: ExecuteHandler | undefined, standard?: () => Promise<void>): void {
    if (!app && !standard) return;
    args.afterResponse(async () => {
      await standard?.();
      await app?.(args);
    });
  }
}
