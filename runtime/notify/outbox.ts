// Outbox: the gate between a client's messages and its server (sent at once while the registration is usable, held while not, delivered in order when back), and the notification side of it.
import { hex } from '../coap/bytes.js';
import type { CoapEndpoint, NotificationOutcome, OutgoingResponse, Peer } from '../coap/types.js';
import type { StoredItem, StoredQueue } from './stored.js';
import { stampBaseTime } from './timestamp.js';

/**
 * Why the server cannot be reached now: 'unreachable' (no registration yet, an Update or Register went unanswered,
 * the transport is down), 'disabled' (/1/x/4 for the Disable Timeout), 'asleep' (queue mode between awake periods).
 */
export type OfflineReason = 'unreachable' | 'disabled' | 'asleep';

const REASONS: readonly OfflineReason[] = ['unreachable', 'disabled', 'asleep'];
const REASON_BITS: Readonly<Record<OfflineReason, number>> = { unreachable: 1, disabled: 2, asleep: 4 };

/**
 * A set of offline reasons as bits, for an owner that keeps them before it makes its Outbox (a client makes its outbox
 * on first use): the bits pass to the Outbox as `reasons`. Starts with 'unreachable' (no registration yet).
 */
export function offlineBits(bits: number, reason: OfflineReason, on: boolean): number {
  return on ? bits | REASON_BITS[reason] : bits & ~REASON_BITS[reason];
}

/** The reasons an Outbox starts with when not told: 'unreachable' (no registration yet). */
export const INITIAL_OFFLINE_BITS = REASON_BITS.unreachable;

/** How delivering a stored item went: 'delivered', 'rejected' (the server refused it: drop it, go on), 'failed' (no answer: stop, keep it). */
export type DeliveryResult = 'delivered' | 'rejected' | 'failed';

/** Sends one stored item of a kind; registered per kind with Outbox.deliverer. */
export type Deliverer = (item: StoredItem) => Promise<DeliveryResult>;

export interface OutboxOptions {
  readonly queue: StoredQueue;
  /** Notification Storing When Disabled or Offline (/1/x/6), read at each held message: true keeps all, false the latest per key. */
  readonly storing: () => boolean;
  /** Wall-clock ms since the epoch, for the time a held message carries (default Date.now). */
  readonly now?: () => number;
  /** A message came while asleep only: the client wakes (queue mode). */
  readonly onWakeNeeded?: () => void;
  /** A message went unanswered: the client checks its registration (an Update), which brings the outbox back online. */
  readonly onUnreachable?: () => void;
  readonly onError?: (error: Error) => void;
  /** The offline reasons it starts with, as bits (offlineBits); default INITIAL_OFFLINE_BITS. */
  readonly reasons?: number;
}

/** What Outbox.submit needs to hold a message it cannot send now. */
export interface Submission {
  readonly kind: string;
  readonly key: string;
  readonly payload: Uint8Array;
  readonly contentFormat?: number;
  readonly meta?: Readonly<Record<string, string | number | boolean>>;
  /** The key's own bound (LwM2M 1.2 hqmax), when set. */
  readonly perKey?: number;
}

/**
 * One per client. A message goes out at once when the client is online and nothing is held; otherwise it joins the
 * queue (stamped with the time it was made, for SenML formats), and once every offline reason is cleared the queue
 * is delivered oldest first, one at a time, before anything new. Any kind of message can be held: give it a deliverer.
 */
export class Outbox {
  readonly queue: StoredQueue;
  readonly #o: OutboxOptions;
  /** The offline reasons as bits (REASON_BITS): a fleet holds thousands of outboxes, and a Set costs ~100 bytes each. */
  #reasons: number;
  /** Deliverers by kind as [kind, deliverer] pairs: a client has one or two, and a Map costs more than the search. */
  readonly #deliverers: Array<readonly [string, Deliverer]> = [];
  #flushing: Promise<void> | undefined;

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.queue = options.queue;
    this.#reasons = options.reasons ?? INITIAL_OFFLINE_BITS;
  }

  /**
   * True when messages go out as they come: online, and nothing held waiting to go first (an item being delivered is
   * still held: it leaves the queue once delivered).
   */
  get open(): boolean {
    return this.#reasons === 0 && this.queue.size === 0;
  }

  get online(): boolean {
    return this.#reasons === 0;
  }

  /** The reasons the client is offline now (empty when online). */
  reasons(): OfflineReason[] {
    return REASONS.filter((r) => (this.#reasons & REASON_BITS[r]) !== 0);
  }

  /** Notification Storing (/1/x/6) as it is now. */
  isStoring(): boolean {
    return this.#o.storing();
  }

  isOffline(reason: OfflineReason): boolean {
    return (this.#reasons & REASON_BITS[reason]) !== 0;
  }

  /** Who sends held items of `kind` once the client is back. */
  deliverer(kind: string, deliver: Deliverer): void {
    const at = this.#deliverers.findIndex(([k]) => k === kind);
    if (at >= 0) this.#deliverers[at] = [kind, deliver];
    else this.#deliverers.push([kind, deliver]);
  }

  /** Sets or clears one offline reason; clearing the last one delivers what is held. */
  offline(reason: OfflineReason, on: boolean): void {
    const bit = REASON_BITS[reason];
    if (on) this.#reasons |= bit;
    else if (this.#reasons & bit) {
      this.#reasons &= ~bit;
      if (this.#reasons === 0) void this.flush();
    }
  }

  /**
   * Sends a message through `live` when the outbox is open, else holds it (and resolves 'sent': for the sender it
   * has gone, to arrive later). A live message that goes unanswered ('timeout') while storing is on is held too,
   * and the client is told it is unreachable.
   */
  async submit(message: Submission, live: () => Promise<NotificationOutcome>): Promise<NotificationOutcome> {
    const now = this.#o.now ?? Date.now;
    if (this.open) {
      const madeAt = now();
      const outcome = await live();
      if (outcome !== 'timeout' || !this.#o.storing()) return outcome;
      // Held with the time it was made, not the time its retransmissions gave up.
      this.#hold(message, true, madeAt);
      this.#reasons |= REASON_BITS.unreachable;
      this.#o.onUnreachable?.();
      return 'sent';
    }
    // Asleep only (queue mode): the message is due now, so the client wakes to send it, keeping every one meanwhile.
    const asleepOnly = this.#reasons === REASON_BITS.asleep;
    this.#hold(message, asleepOnly || this.#o.storing(), now());
    if (asleepOnly) this.#o.onWakeNeeded?.();
    else if (this.#reasons === 0) void this.flush();
    return 'sent';
  }

  #hold(m: Submission, all: boolean, time: number): void {
    this.queue.add({
      kind: m.kind, key: m.key, time, payload: stampBaseTime(m.contentFormat, m.payload, time),
      ...(m.contentFormat !== undefined ? { contentFormat: m.contentFormat } : {}),
      ...(m.meta ? { meta: m.meta } : {}),
    }, { mode: all ? 'all' : 'latest', ...(m.perKey !== undefined ? { perKey: m.perKey } : {}) });
  }

  /** Delivers what is held, oldest first, while online; resolves when the queue is empty or delivery stopped. */
  flush(): Promise<void> {
    return (this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
      // Something held while this delivery was ending (after its last look at the queue) must not wait for the next outage.
      if (this.#reasons === 0 && this.queue.size > 0) void this.flush();
    }));
  }

  async #drain(): Promise<void> {
    for (let item = this.queue.peek(); item && this.#reasons === 0; item = this.queue.peek()) {
      const deliver = this.#deliverers.find(([k]) => k === item.kind)?.[1];
      let result: DeliveryResult;
      try {
        result = deliver ? await deliver(item) : 'rejected';
      } catch (err) {
        this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
        result = 'failed';
      }
      if (result === 'failed') {
        this.#reasons |= REASON_BITS.unreachable;
        this.#o.onUnreachable?.();
        return;
      }
      // The item may have been discarded meanwhile (its observation ended); take it out only if it is still first.
      if (this.queue.peek() === item) {
        if (result === 'rejected') this.queue.discard((i) => i === item, 'rejected');
        else this.queue.shift();
      }
    }
  }
}

// ---- notifications through the outbox ----

function hexToken(key: string): Uint8Array {
  const out = new Uint8Array(key.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(key.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Sends a notification through the outbox (held while the server is unreachable, keyed by its token) or, without
 * one, straight out. `perKey` is the observation's hqmax.
 */
export function gatedNotify(
  outbox: Outbox | undefined, transport: CoapEndpoint, peer: Peer, token: Uint8Array, response: OutgoingResponse & { observe: number },
  confirmable: boolean, perKey: number | undefined,
): Promise<NotificationOutcome> {
  const live = (): Promise<NotificationOutcome> => transport.notify(peer, token, response, confirmable);
  if (!outbox) return live();
  return outbox.submit({
    kind: 'notify', key: hex(token), payload: response.payload ?? new Uint8Array(0),
    ...(response.contentFormat !== undefined ? { contentFormat: response.contentFormat } : {}),
    meta: { observe: response.observe },
    ...(perKey !== undefined ? { perKey } : {}),
  }, live);
}

/**
 * The deliverer of held notifications: each goes out as CON (delivery is confirmed before the next), with the
 * sequence number it was given when due. An RST means the server no longer has the observation: `onReset` ends it.
 */
export function notificationDeliverer(
  transport: CoapEndpoint, server: Peer, onReset: (token: Uint8Array) => void,
): Deliverer {
  return async (item) => {
    const token = hexToken(item.key);
    const observe = Number(item.meta?.['observe'] ?? 0);
    const outcome = await transport.notify(server, token, {
      code: '2.05', payload: item.payload, observe, ...(item.contentFormat !== undefined ? { contentFormat: item.contentFormat } : {}),
    }, true);
    if (outcome === 'timeout') return 'failed';
    if (outcome === 'reset') {
      onReset(token);
      return 'rejected';
    }
    return 'delivered';
  };
}
