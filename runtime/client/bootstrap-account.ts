// The Bootstrap-Server Account Timeout (/0/x/12): purges the bootstrap account on time, with a wall-clock deadline that survives restarts.
import type { Clock, TimerHandle } from '../coap/clock.js';
import type { ObjectRegistry } from './registry.js';
import { SECURITY_OBJECT, SecurityInstance } from './security-object.js';

/** Timers longer than this fire at once in Node (a 32-bit signed delay), so long deadlines are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BootstrapAccountTimerOptions {
  readonly registry: ObjectRegistry;
  readonly clock: Clock;
  /** Milliseconds since the epoch: the deadline is kept in the store, where the monotonic clock means nothing. */
  readonly wallClock: () => number;
  /** The account was purged: save /0, report it. */
  readonly purged: (instanceId: number, seconds: number) => void;
  /** The deadline changed (undefined: none); the device keeps it in its store. */
  readonly deadline: (purgeAt: number | undefined) => void;
}

/**
 * LwM2M 1.1 E.1: the client MUST purge the Bootstrap-Server account that many seconds after it was provisioned
 * (0 or absent: never). Counted from the Bootstrap-Finish; a restart resumes the stored deadline, so it is neither
 * forgotten nor extended, and a deadline passed while the device was down purges at start.
 */
export class BootstrapAccountTimer {
  readonly #o: BootstrapAccountTimerOptions;
  #timer: TimerHandle | undefined;
  #purgeAt: number | undefined;

  constructor(options: BootstrapAccountTimerOptions) {
    this.#o = options;
  }

  /** A bootstrap just finished: counts the committed bootstrap account's timeout from now. */
  arm(): void {
    const bs = this.#account();
    const seconds = bs?.account().accountTimeout ?? 0;
    this.resume(bs && seconds > 0 ? this.#o.wallClock() + seconds * 1000 : undefined);
    this.#o.deadline(this.#purgeAt);
  }

  /** Waits for a deadline (taken from the store at start); undefined, or no bootstrap account, waits for nothing. */
  resume(purgeAt: number | undefined): void {
    this.stop();
    const bs = this.#account();
    this.#purgeAt = bs ? purgeAt : undefined;
    if (!bs || purgeAt === undefined) return;
    const wait = (): void => {
      const left = purgeAt - this.#o.wallClock();
      if (left > 0) {
        this.#timer = this.#o.clock.setTimeout(wait, Math.min(left, MAX_TIMER_MS));
        return;
      }
      this.#timer = undefined;
      this.#purgeAt = undefined;
      if (this.#o.registry.instance(SECURITY_OBJECT, bs.instanceId) !== bs) return;
      this.#o.registry.removeInstance(SECURITY_OBJECT, bs.instanceId);
      this.#o.purged(bs.instanceId, bs.account().accountTimeout);
      this.#o.deadline(undefined);
    };
    wait();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #account(): SecurityInstance | undefined {
    return this.#o.registry.instances(SECURITY_OBJECT).find((i): i is SecurityInstance => i instanceof SecurityInstance && i.value(1) === true);
  }
}
