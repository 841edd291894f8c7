// The scheduler's clock: the time and one re-armable timer, always on top of the message layer's Clock (real, manual, or the client's own).
import { ManualClock, systemClock, type Clock, type TimerHandle } from '../coap/clock.js';

/**
 * What the notify scheduler needs from time: a monotonic millisecond clock and one timer. `arm`
 * replaces whatever was armed before, so the scheduler never holds more than one timer.
 */
export interface SchedulerClock {
  /** Milliseconds on a monotonic clock (wall-clock jumps must not fire or stall notifications). */
  now(): number;
  /** Calls `fire` once after `delayMs` (0 = as soon as possible), replacing any armed call. */
  arm(delayMs: number, fire: () => void): void;
  /** Cancels the armed call, if any. */
  disarm(): void;
}

/** setTimeout cannot wait longer than 2^31-1 ms; a longer wait is taken in steps (the scheduler re-arms on wake). */
const MAX_TIMEOUT = 2 ** 31 - 1;

export interface SystemClockOptions {
  /**
   * Keep the process alive while notifications are pending (default false: the CoAP sockets are what
   * keep a device process alive, and a pending pmax alone should not stop it from exiting).
   */
  readonly ref?: boolean;
}

/** The real clock: the message layer's systemClock behind one re-armable timer, unref'd unless `ref` is set. */
export function systemSchedulerClock(options: SystemClockOptions = {}): SchedulerClock {
  return schedulerClockFrom({
    now: systemClock.now,
    setTimeout(callback, ms) {
      const timer = setTimeout(callback, ms);
      if (!options.ref) timer.unref();
      return timer;
    },
    clearTimeout: systemClock.clearTimeout,
  });
}

/**
 * The scheduler's clock on top of the message layer's Clock (coap/clock.ts), so a client and its
 * notifications run on one clock: the real one in production, one ManualClock in tests.
 */
export function schedulerClockFrom(clock: Clock): SchedulerClock {
  let handle: TimerHandle | undefined;
  let armed = false;
  return {
    now: () => clock.now(),
    arm(delayMs, fire) {
      if (armed) clock.clearTimeout(handle);
      armed = true;
      handle = clock.setTimeout(() => {
        armed = false;
        fire();
      }, Math.min(Math.max(0, delayMs), MAX_TIMEOUT));
    },
    disarm() {
      if (armed) clock.clearTimeout(handle);
      armed = false;
    },
  };
}

/** True for a SchedulerClock, false for the message layer's Clock. */
export function isSchedulerClock(clock: SchedulerClock | Clock): clock is SchedulerClock {
  return typeof (clock as SchedulerClock).arm === 'function';
}

/**
 * A clock that moves only when told to: tests advance it and the armed call fires at exactly its
 * time, so scheduling is checked without sleeping and without depending on the machine's speed.
 * Time is the message layer's ManualClock (pass one to share a timeline with a client); this adds
 * only what scheduler tests look at: how often and for when the one timer was armed.
 */
export class ManualSchedulerClock implements SchedulerClock {
  /** The underlying clock; advancing either one moves both. */
  readonly base: ManualClock;
  readonly #timer: SchedulerClock;
  #at = Infinity;
  #lastFireAt = NaN;
  #sameInstant = 0;
  /** How many times a timer was armed; tests use it to see that work is batched onto one timer. */
  armCount = 0;

  constructor(start: number | ManualClock = 0) {
    this.base = typeof start === 'number' ? new ManualClock(start) : start;
    this.#timer = schedulerClockFrom(this.base);
  }

  now(): number {
    return this.base.now();
  }

  arm(delayMs: number, fire: () => void): void {
    this.#at = this.base.now() + Math.min(Math.max(0, delayMs), MAX_TIMEOUT);
    this.armCount++;
    this.#timer.arm(delayMs, () => {
      this.#at = Infinity;
      // A bound on firings at one instant: a scheduler that re-arms at "now" forever is a bug to surface, not to hang on.
      const now = this.base.now();
      this.#sameInstant = now === this.#lastFireAt ? this.#sameInstant + 1 : 0;
      this.#lastFireAt = now;
      if (this.#sameInstant > 10_000) throw new Error(`ManualSchedulerClock: timer re-armed at ${now} more than 10000 times`);
      fire();
    });
  }

  disarm(): void {
    this.#at = Infinity;
    this.#timer.disarm();
  }

  /** When the armed call will fire (Infinity when nothing is armed). */
  get armedAt(): number {
    return this.#at;
  }

  /** Moves time forward by `ms`, firing the armed call at its exact time, as often as it is re-armed on the way. */
  advance(ms: number): void {
    this.base.advance(Math.max(0, ms));
  }

  advanceTo(target: number): void {
    this.base.advance(Math.max(0, target - this.base.now()));
  }
}

/**
 * The message layer's manual clock, re-exported: handing the same one to the client and to
 * `new NotifyScheduler(clock)` puts retransmissions and notifications on one test timeline.
 */
export { ManualClock };
