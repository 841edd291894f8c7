// One observation as the scheduler keeps it, packed small (flags, token and Accept in integers), and the observation types it shows.
import { BadRequestError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';
import type { NotificationOutcome, Peer } from '../coap/types.js';
import type { NotificationAttributes } from './attributes.js';

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

export const SEQ_MASK = 0xffffff;
/** RFC 7641 §4.5: a NON notification must be sent as CON at least every 24 hours, to find out whether the observer is still there. */
export const CON_AT_LEAST_EVERY_S = 24 * 3600;

// Flags kept in one small integer: a handful of booleans on 100 000 objects is memory worth saving.
export const ACTIVE = 1;
export const CONFIRMABLE = 2;
/** A change was reported and not yet evaluated (held back by epmin, or waiting for the timer). */
export const DIRTY = 4;
/** A change qualified for a notification, held back by pmin or by an unacknowledged CON. */
export const PENDING = 8;
/** A CON notification is waiting for its ACK. */
export const IN_FLIGHT = 16;

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

/** An observation in the scheduler: the public view plus the packed state the scheduler works on. */
export class Entry<V> implements Observation<V> {
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
  /** Place in the scheduler's heap, -1 when not queued. */
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

