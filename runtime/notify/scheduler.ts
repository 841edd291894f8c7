// The notify scheduler: one timer and one heap for every observation in the process, applying pmin/pmax/gt/lt/st/epmin/epmax.
import type { Clock } from '../coap/clock.js';
import type { NotificationOutcome } from '../coap/types.js';
import { isSchedulerClock, schedulerClockFrom, systemSchedulerClock, type SchedulerClock } from './clock.js';
import {
  ACTIVE, CON_AT_LEAST_EVERY_S, CONFIRMABLE, DIRTY, Entry, IN_FLIGHT, PENDING, SEQ_MASK,
  type EndReason, type Observation, type ObservationBase, type ObservationInit,
} from './entry.js';
import { DueHeap } from './heap.js';
import { defaultEquals, emptyPlan, nextDue, numeric, plan, qualifies, type Plan } from './planning.js';

export { tokenHash, type EndReason, type Observation, type ObservationBase, type ObservationHandlers, type ObservationInit } from './entry.js';

/**
 * Schedules every observation of every client in the process on one timer. Observations wait in a
 * binary heap keyed by the next time something can happen to them (pmin ending with a change held back,
 * pmax, an epmin-deferred evaluation, an epmax sample); an observation with nothing due is not in the
 * heap at all, so an idle observation costs no work.
 */
export class NotifyScheduler {
  readonly clock: SchedulerClock;
  readonly #heap = new DueHeap<Entry<unknown>>();
  #armedAt = Infinity;
  #count = 0;
  #notifications = 0;
  readonly #fire = (): void => this.#onTimer();
  /**
   * Reused Plans, one per nesting depth: evaluating allocates nothing, yet a send callback that
   * refreshes another observation (re-entering the scheduler) cannot overwrite the plan in use.
   */
  readonly #plans: Plan[] = [];
  #depth = 0;

  /** `clock` may be the client's Clock (coap/clock.ts): the scheduler then arms its one timer through it. */
  constructor(clock: SchedulerClock | Clock = systemSchedulerClock()) {
    this.clock = isSchedulerClock(clock) ? clock : schedulerClockFrom(clock);
  }

  /** Active observations. */
  get size(): number {
    return this.#count;
  }
  /** Observations with something due (in the heap). */
  get queued(): number {
    return this.#heap.size;
  }
  /** Notifications sent since the scheduler was made (first responses not counted). */
  get notifications(): number {
    return this.#notifications;
  }

  /**
   * Starts an observation whose first response, carrying `firstValue` and Observe = `sequence` of the
   * returned observation, is being sent now. pmin and pmax count from now.
   */
  start<V>(init: ObservationInit<V>, firstValue: V): Observation<V> {
    const e = new Entry<V>(init, firstValue, this.#now());
    this.#count++;
    this.#reschedule(e as Entry<unknown>, this.#now());
    return e;
  }

  /**
   * Reports that the observed value (or something under an observed object or instance) changed.
   * Cheap: it marks the observation and lets the timer do the work, so a burst of changes in one tick
   * becomes one evaluation.
   */
  changed(observation: ObservationBase): void {
    const e = observation as unknown as Entry<unknown>;
    if (!(e.flags & ACTIVE) || e.flags & DIRTY) return;
    e.flags |= DIRTY;
    const now = this.#now();
    // The earliest moment the change could matter is now; epmin is checked when the timer fires. An
    // observation taken out of the heap and about to be processed (due <= now) will see the flag anyway.
    if (e.due < 0 || e.due > now) this.#queue(e, now);
  }

  /** Re-reads the attributes of an observation now: call after a Write-Attributes or a change of /1/x/2 or /1/x/3. */
  refresh(observation: ObservationBase): void {
    const e = observation as unknown as Entry<unknown>;
    if (e.flags & ACTIVE) this.#reschedule(e, this.#now());
  }

  /** Ends an observation without telling anyone (the caller cancelled it). */
  stop(observation: ObservationBase): void {
    const e = observation as unknown as Entry<unknown>;
    if (!(e.flags & ACTIVE)) return;
    e.flags &= ~ACTIVE;
    this.#count--;
    this.#remove(e);
    // Lets the timer go when nothing is left, so an idle process can exit.
    this.#arm();
  }

  // ---- evaluation ----

  #end(e: Entry<unknown>, reason: EndReason, error?: unknown): void {
    if (!(e.flags & ACTIVE)) return;
    this.stop(e);
    e.handlers.ended?.(e, reason, error);
  }

  #attributes(e: Entry<unknown>): Plan | undefined {
    try {
      const p = (this.#plans[this.#depth] ??= emptyPlan());
      return plan(e.handlers.attributes(e), p);
    } catch (err) {
      this.#end(e, 'error', err);
      return undefined;
    }
  }

  /** Recomputes when the observation next needs looking at, without acting. */
  #reschedule(e: Entry<unknown>, now: number): void {
    this.#depth++;
    try {
      const p = this.#attributes(e);
      if (p) this.#queue(e, nextDue(e, p, now));
    } finally {
      this.#depth--;
    }
  }

  #process(e: Entry<unknown>, now: number): void {
    this.#depth++;
    try {
      this.#evaluate(e, now);
    } finally {
      this.#depth--;
    }
  }

  #evaluate(e: Entry<unknown>, now: number): void {
    const p = this.#attributes(e);
    if (!p) return;
    const h = e.handlers;
    let value: unknown;
    let haveValue = false;

    const sampleDue = p.epmax !== undefined && now >= e.lastEvalAt + p.epmax;
    if ((e.flags & DIRTY || sampleDue) && now >= e.lastEvalAt + p.epmin) {
      const sampling = !(e.flags & DIRTY);
      e.flags &= ~DIRTY;
      e.lastEvalAt = now;
      const thresholds = p.gt !== undefined || p.lt !== undefined || p.st !== undefined;
      // Reading costs (read hooks, whole instances): read only when the decision needs the value.
      // A resource-instance observation hears about every change of its resource, so it checks its own value.
      if (sampling || thresholds || e.path.resourceInstanceId !== undefined) {
        try {
          value = h.read(e);
        } catch (err) {
          this.#end(e, 'error', err);
          return;
        }
        haveValue = true;
        const changed = !(h.equals ?? defaultEquals)(value, e.lastValue);
        if (changed) {
          const v = numeric(value);
          const last = numeric(e.lastValue);
          if (!thresholds || v === undefined || last === undefined || qualifies(p, v, last)) e.flags |= PENDING;
        }
      } else {
        e.flags |= PENDING;
      }
    }

    if (!(e.flags & IN_FLIGHT)) {
      const due =
        (e.flags & PENDING && now >= e.lastSentAt + p.pmin) || (p.pmax !== undefined && now >= e.lastSentAt + p.pmax);
      if (due) {
        if (!haveValue) {
          try {
            value = h.read(e);
          } catch (err) {
            this.#end(e, 'error', err);
            return;
          }
        }
        this.#send(e, value, now);
        if (!(e.flags & ACTIVE)) return;
      }
    }
    this.#queue(e, nextDue(e, p, now));
  }

  #send(e: Entry<unknown>, value: unknown, now: number): void {
    e.sequence = (e.sequence + 1) & SEQ_MASK;
    e.lastSentAt = now;
    e.lastValue = value;
    e.flags &= ~PENDING;
    const nowS = Math.floor(now / 1000);
    const con = (e.flags & CONFIRMABLE) !== 0 || nowS - e.lastConAtS >= CON_AT_LEAST_EVERY_S;
    if (con) {
      e.lastConAtS = nowS;
      e.flags |= IN_FLIGHT;
    }
    this.#notifications++;
    let result: NotificationOutcome | Promise<NotificationOutcome>;
    try {
      result = e.handlers.send(e, value, e.sequence, con);
    } catch (err) {
      this.#end(e, 'error', err);
      return;
    }
    if (typeof result === 'string') this.#outcome(e, result, con);
    else result.then((o) => this.#outcome(e, o, con), (err: unknown) => this.#end(e, 'error', err));
  }

  #outcome(e: Entry<unknown>, outcome: NotificationOutcome, con: boolean): void {
    if (!(e.flags & ACTIVE)) return;
    if (outcome === 'reset' || outcome === 'timeout') {
      this.#end(e, outcome);
      return;
    }
    if (con) {
      e.flags &= ~IN_FLIGHT;
      // Sends were held while the CON was out; a change that came meanwhile may be due now.
      this.#reschedule(e, this.#now());
    }
  }

  // ---- the timer ----

  /**
   * The clock in whole milliseconds. Integers below 2^31 are small integers to V8, stored inside the
   * observation; fractional times would each be a separate heap number (16 bytes apiece, three per
   * observation). performance.now() stays below 2^31 for the first 24 days of a process; after that the
   * times are doubles, which costs memory, not correctness. Sub-millisecond precision means nothing for periods in seconds.
   */
  #now(): number {
    return Math.round(this.clock.now());
  }

  #onTimer(): void {
    this.#armedAt = Infinity;
    const now = this.#now();
    // Take out everything due first, then process: an observation re-queued at "now" while processing
    // (a send callback that reports a change) waits for the next turn instead of looping here.
    const heap = this.#heap;
    const due: Array<Entry<unknown>> = [];
    while (heap.size > 0 && heap.peek()!.due <= now) due.push(heap.pop());
    for (const e of due) if (e.flags & ACTIVE && e.heapIndex < 0) this.#process(e, now);
    this.#arm();
  }

  #arm(): void {
    const top = this.#heap.peek();
    if (!top) {
      if (this.#armedAt !== Infinity) this.clock.disarm();
      this.#armedAt = Infinity;
      return;
    }
    // Re-arm only for something earlier than what is armed: a later wake-up finds nothing and re-arms, which is cheaper
    // than clearing and setting a timer on every change.
    if (top.due < this.#armedAt) {
      this.#armedAt = top.due;
      this.clock.arm(top.due - this.clock.now(), this.#fire);
    }
  }

  // ---- the queue ----

  #queue(e: Entry<unknown>, at: number): void {
    if (at === Infinity) this.#heap.remove(e);
    else this.#heap.set(e, Math.round(at));
    this.#arm();
  }

  #remove(e: Entry<unknown>): void {
    this.#heap.remove(e);
  }
}
