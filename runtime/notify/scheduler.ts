// The notify scheduler: one timer and one binary heap for every observation in the process, applying pmin/pmax/gt/lt/st/epmin/epmax.
import { BadRequestError } from '../errors.js';
import type { Lwm2mPath, ResourceContent } from '../model.js';
import { sameContent } from '../values/check.js';
import type { NotificationOutcome, Peer } from '../coap/types.js';
import type { NotificationAttributes } from './attributes.js';
import type { Clock } from '../coap/clock.js';
import { isSchedulerClock, schedulerClockFrom, systemSchedulerClock, type SchedulerClock } from './clock.js';

/** Why the scheduler ended an observation by itself. */
export type EndReason =
  /** A confirmable notification was never acknowledged: the observer is gone (RFC 7641 §4.5). */
  | 'timeout'
  /** The observer answered a notification with RST: it no longer wants it (RFC 7641 §3.6). */
  | 'reset'
  /** Reading the value or sending threw (the resource or instance is gone, the endpoint is closed). */
  | 'error';

/**
 * What the client supplies for a group of observations (typically one object per LwM2M server): the
 * callbacks take the observation, so one set of functions serves thousands of observations without a
 * closure each.
 */
export interface ObservationHandlers<V = unknown> {
  /** Reads the observed value now. A notification always carries the value current when it is sent. */
  read(observation: Observation<V>): V;
  /** The attributes in force for the observation (periods in seconds), read at every evaluation. */
  attributes(observation: Observation<V>): Readonly<NotificationAttributes>;
  /**
   * Sends one notification with this Observe sequence number, as CON when `confirmable`. Resolve
   * 'acked' or 'sent' to go on; 'timeout' or 'reset' ends the observation. While a CON is unacknowledged
   * no other notification of this observation is sent; the next one carries the then-current value.
   */
  send(observation: Observation<V>, value: V, sequence: number, confirmable: boolean): NotificationOutcome | Promise<NotificationOutcome>;
  /** Told when the scheduler ends an observation by itself (not when it is cancelled). */
  ended?(observation: Observation<V>, reason: EndReason, error?: unknown): void;
  /** Value equality for sampled values (epmax) and resource-instance observations; defaults to sameContent. */
  equals?(a: V, b: V): boolean;
}

/** What every observation shows, whatever its value type: what the scheduler's and registry's methods take. */
export interface ObservationBase {
  readonly peer: Peer;
  readonly path: Lwm2mPath;
  /** The observation's token (a fresh copy). */
  readonly token: Uint8Array;
  /** The token as lowercase hex, for logs. */
  readonly tokenKey: string;
  /** The registry's map key for the token (see tokenHash). */
  readonly tokenHash: number;
  /** True when this observation's token is exactly `token`. */
  hasToken(token: Uint8Array): boolean;
  readonly confirmable: boolean;
  /** The Accept of the Observe request, for encoding notifications the same way. */
  readonly accept: number | undefined;
  /** The Observe sequence number of the last response or notification (24-bit). */
  readonly sequence: number;
  /** Clock time of the last notification (or the first response). */
  readonly lastSentAt: number;
  /**
   * Clock time the scheduler will next look at this observation (Infinity when nothing is due); while
   * a notification is being sent, the time it was due.
   */
  readonly dueAt: number;
  /** False once cancelled or ended. */
  readonly active: boolean;
}

/** A read-only view of one observation. */
export interface Observation<V = unknown> extends ObservationBase {
  readonly handlers: ObservationHandlers<V>;
  /** The value the last notification (or the first response) carried. */
  readonly lastValue: V | undefined;
}

/** What starts an observation. */
export interface ObservationInit<V = unknown> {
  readonly peer: Peer;
  readonly path: Lwm2mPath;
  readonly token: Uint8Array;
  readonly confirmable: boolean;
  readonly accept?: number;
  readonly handlers: ObservationHandlers<V>;
  /**
   * Sequence number to put in the first response. A re-register with the same token passes the old
   * observation's sequence + 1, so the observer does not drop the new responses as stale (RFC 7641 §3.4).
   */
  readonly sequence?: number;
}

const SEQ_MASK = 0xffffff;
/** RFC 7641 §4.5: a NON notification must be sent as CON at least every 24 hours, to find out whether the observer is still there. */
const CON_AT_LEAST_EVERY_S = 24 * 3600;

// Flags kept in one small integer: a handful of booleans on 100 000 objects is memory worth saving.
const ACTIVE = 1;
const CONFIRMABLE = 2;
/** A change was reported and not yet evaluated (held back by epmin, or waiting for the timer). */
const DIRTY = 4;
/** A change qualified for a notification, held back by pmin or by an unacknowledged CON. */
const PENDING = 8;
/** A CON notification is waiting for its ACK. */
const IN_FLIGHT = 16;

// The rest of the small integer: the token's length (bits 5-8) and the Accept + 1 (bits 9-25, 0 = none).
const LEN_SHIFT = 5;
const ACCEPT_SHIFT = 9;

/**
 * A token (0-8 bytes, RFC 7252 §5.3.1) as two 32-bit integers: V8 keeps them inside the observation,
 * where a Uint8Array would cost over 100 bytes and a hex string 40.
 */
function packToken(token: Uint8Array): [number, number] {
  if (token.length > 8) throw new BadRequestError(`token of ${token.length} bytes (at most 8)`);
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < token.length; i++) {
    if (i < 4) hi |= token[i]! << (24 - 8 * i);
    else lo |= token[i]! << (56 - 8 * i);
  }
  return [hi | 0, lo | 0];
}

function mixToken(hi: number, lo: number, length: number): number {
  return (Math.imul(hi, 0x9e3779b1) ^ Math.imul(lo ^ length, 0x85ebca6b)) & 0x3fffffff;
}

/** A 30-bit hash of a token, the registry's map key (different tokens may share one: compare with hasToken). */
export function tokenHash(token: Uint8Array): number {
  const [hi, lo] = packToken(token);
  return mixToken(hi, lo, token.length);
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function defaultEquals(a: unknown, b: unknown): boolean {
  return sameContent(a as ResourceContent | undefined, b as ResourceContent | undefined);
}

class Entry<V> implements Observation<V> {
  readonly peer: Peer;
  readonly path: Lwm2mPath;
  readonly handlers: ObservationHandlers<V>;
  readonly tokenHi: number;
  readonly tokenLo: number;
  /** Flags (ACTIVE, DIRTY, ...), token length and Accept packed in one small integer. */
  flags: number;
  sequence: number;
  lastValue: V | undefined;
  lastSentAt: number;
  lastEvalAt: number;
  /** Whole seconds, not ms: it needs no more precision, and a small integer takes no extra memory. */
  lastConAtS: number;
  /** Due time while queued or being processed, -1 otherwise (a small integer, never Infinity: see #now). */
  due = -1;
  heapIndex = -1;

  constructor(init: ObservationInit<V>, value: V, now: number) {
    this.peer = init.peer;
    this.path = init.path;
    this.handlers = init.handlers;
    [this.tokenHi, this.tokenLo] = packToken(init.token);
    const accept = init.accept === undefined ? 0 : (init.accept & 0xffff) + 1;
    this.flags = ACTIVE | (init.confirmable ? CONFIRMABLE : 0) | (init.token.length << LEN_SHIFT) | (accept << ACCEPT_SHIFT);
    this.sequence = (init.sequence ?? 0) & SEQ_MASK;
    this.lastValue = value;
    this.lastSentAt = now;
    this.lastEvalAt = now;
    // The first response counts as a check that the observer is there.
    this.lastConAtS = Math.floor(now / 1000);
  }

  get dueAt(): number {
    return this.due < 0 ? Infinity : this.due;
  }
  get token(): Uint8Array {
    const out = new Uint8Array((this.flags >> LEN_SHIFT) & 0xf);
    for (let i = 0; i < out.length; i++) out[i] = i < 4 ? this.tokenHi >>> (24 - 8 * i) : this.tokenLo >>> (56 - 8 * i);
    return out;
  }
  get tokenKey(): string {
    let s = '';
    for (const b of this.token) s += (b < 16 ? '0' : '') + b.toString(16);
    return s;
  }
  get tokenHash(): number {
    return mixToken(this.tokenHi, this.tokenLo, (this.flags >> LEN_SHIFT) & 0xf);
  }
  hasToken(token: Uint8Array): boolean {
    if (token.length !== ((this.flags >> LEN_SHIFT) & 0xf)) return false;
    const [hi, lo] = packToken(token);
    return hi === this.tokenHi && lo === this.tokenLo;
  }
  get accept(): number | undefined {
    const a = (this.flags >> ACCEPT_SHIFT) & 0x1ffff;
    return a === 0 ? undefined : a - 1;
  }
  get confirmable(): boolean {
    return (this.flags & CONFIRMABLE) !== 0;
  }
  get active(): boolean {
    return (this.flags & ACTIVE) !== 0;
  }
}

/** Attributes converted once per evaluation into what the scheduler compares: milliseconds, and "absent" as undefined. */
interface Plan {
  pmin: number;
  pmax: number | undefined;
  epmin: number;
  epmax: number | undefined;
  gt: number | undefined;
  lt: number | undefined;
  st: number | undefined;
}

/** Fills `p` from attributes; one Plan is reused for every evaluation, since evaluations never nest. */
function plan(a: Readonly<NotificationAttributes>, p: Plan): Plan {
  const pmin = a.pmin !== undefined && a.pmin > 0 ? a.pmin * 1000 : 0;
  p.pmin = pmin;
  // pmax 0 means "no maximum period" (the Server object's default when /1/x/3 is absent); a pmax below
  // pmin can arise from inheritance across levels and is ignored, as LwM2M 1.1 says.
  p.pmax = a.pmax !== undefined && a.pmax > 0 && a.pmax * 1000 >= pmin ? a.pmax * 1000 : undefined;
  const epmin = a.epmin !== undefined && a.epmin > 0 ? a.epmin * 1000 : 0;
  p.epmin = epmin;
  p.epmax = a.epmax !== undefined && a.epmax > 0 && a.epmax * 1000 > epmin ? a.epmax * 1000 : undefined;
  p.gt = a.gt;
  p.lt = a.lt;
  p.st = a.st;
  return p;
}

/**
 * Whether a new numeric value is worth a notification under gt/lt/st, compared with the last notified
 * one: gt and lt fire when the value crosses to the other side of the threshold, st when it moved by at
 * least st. Any condition that is set and met is enough (as Wakaama and Leshan read "crosses").
 */
function qualifies(p: Plan, value: number, last: number): boolean {
  if (p.gt !== undefined && value > p.gt !== last > p.gt) return true;
  if (p.lt !== undefined && value < p.lt !== last < p.lt) return true;
  if (p.st !== undefined && Math.abs(value - last) >= p.st) return true;
  return false;
}

/**
 * Schedules every observation of every client in the process on one timer. Observations wait in a
 * binary heap keyed by the next time something can happen to them (pmin ending with a change held back,
 * pmax, an epmin-deferred evaluation, an epmax sample); an observation with nothing due is not in the
 * heap at all, so an idle observation costs no work.
 */
export class NotifyScheduler {
  readonly clock: SchedulerClock;
  readonly #heap: Array<Entry<unknown>> = [];
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
    return this.#heap.length;
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
      const p = (this.#plans[this.#depth] ??= { pmin: 0, pmax: undefined, epmin: 0, epmax: undefined, gt: undefined, lt: undefined, st: undefined });
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
      if (p) this.#queue(e, this.#next(e, p, now));
    } finally {
      this.#depth--;
    }
  }

  #next(e: Entry<unknown>, p: Plan, now: number): number {
    let next = Infinity;
    if (e.flags & DIRTY) next = Math.max(now, e.lastEvalAt + p.epmin);
    if (p.epmax !== undefined) next = Math.min(next, e.lastEvalAt + p.epmax);
    if (!(e.flags & IN_FLIGHT)) {
      if (e.flags & PENDING) next = Math.min(next, e.lastSentAt + p.pmin);
      if (p.pmax !== undefined) next = Math.min(next, e.lastSentAt + p.pmax);
    }
    return next;
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
    this.#queue(e, this.#next(e, p, now));
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
    while (heap.length > 0 && heap[0]!.due <= now) {
      const e = this.#pop();
      due.push(e);
    }
    for (const e of due) if (e.flags & ACTIVE && e.heapIndex < 0) this.#process(e, now);
    this.#arm();
  }

  #arm(): void {
    const top = this.#heap[0];
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

  // ---- the heap (min by dueAt; each entry knows its index so it can be moved or removed in O(log n)) ----

  #queue(e: Entry<unknown>, at: number): void {
    if (at === Infinity) {
      this.#remove(e);
      this.#arm();
      return;
    }
    at = Math.round(at);
    const heap = this.#heap;
    if (e.heapIndex < 0) {
      e.due = at;
      e.heapIndex = heap.length;
      heap.push(e);
      this.#up(e.heapIndex);
    } else {
      const before = e.due;
      e.due = at;
      if (at < before) this.#up(e.heapIndex);
      else this.#down(e.heapIndex);
    }
    this.#arm();
  }

  #remove(e: Entry<unknown>): void {
    const i = e.heapIndex;
    e.due = -1;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    e.heapIndex = -1;
    if (last !== e) {
      heap[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
  }

  #pop(): Entry<unknown> {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const e = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.due <= e.due) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = e;
    e.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.due < heap[l]!.due ? r : l;
      const child = heap[c]!;
      if (child.due >= e.due) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = e;
    e.heapIndex = i;
  }

  /** Checks the heap invariant and index bookkeeping; for tests. */
  checkHeap(): boolean {
    const heap = this.#heap;
    for (let i = 0; i < heap.length; i++) {
      const e = heap[i]!;
      if (e.heapIndex !== i) return false;
      if (i > 0 && heap[(i - 1) >> 1]!.due > e.due) return false;
    }
    return true;
  }
}
