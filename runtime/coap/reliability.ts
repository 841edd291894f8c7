// Reliability over datagrams (RFC 7252 §4): message ids, CON retransmission with exponential backoff, and NSTART per peer.
import type { Clock, TimerHandle } from './clock.js';
import { CoapClosedError, CoapMessageError } from './errors.js';
import type { CoapMessage } from './message.js';
import type { TransmissionParameters } from './transmission.js';
import type { Peer } from './types.js';

/** One confirmable message being sent until acknowledged, reset or given up. */
export interface Transmission {
  readonly messageId: number;
  readonly peer: Peer;
  readonly data: Uint8Array;
  timeout: number;
  sent: number;
  timer: TimerHandle;
  /** When the timer fires (clock time). */
  dueAt: number;
  onAck(message: CoapMessage): void;
  onReset(): void;
  onTimeout(sent: number): void;
}

export type TransmissionHandlers = Pick<Transmission, 'onAck' | 'onReset' | 'onTimeout'>;

/** The confirmable messages of one endpoint in flight, by message id. */
export class Retransmitter {
  /** Made for the first message and dropped when the last is done: most endpoints of a fleet have none in flight. */
  private transmissions: Map<number, Transmission> | undefined;
  private nextMessageId = Math.floor(Math.random() * 0x10000);

  constructor(
    private readonly clock: Clock,
    private readonly params: TransmissionParameters,
    private readonly random: () => number,
    private readonly send: (data: Uint8Array, peer: Peer) => void,
  ) {}

  allocateMessageId(): number {
    for (let i = 0; i < 0x10000; i++) {
      const id = this.nextMessageId;
      this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
      if (!this.transmissions?.has(id)) return id;
    }
    throw new CoapMessageError('no free message id: 65536 confirmable messages outstanding');
  }

  /** The transmission in flight with this message id. */
  get(messageId: number): Transmission | undefined {
    return this.transmissions?.get(messageId);
  }

  /** Whether `t` is still in flight (not acknowledged, reset, given up or replaced). */
  live(t: Transmission): boolean {
    return this.transmissions?.get(t.messageId) === t;
  }

  /** Sends a CON and retransmits it with exponential backoff until acknowledged, reset or given up. */
  sendConfirmable(
    peer: Peer,
    messageId: number,
    data: Uint8Array,
    handlers: TransmissionHandlers,
    /**
     * A transmission this one replaces: the new message goes out when the old one's retransmission was due, with
     * its count and timeout, so replacing adds no datagrams (RFC 7641 §4.5.2).
     */
    inherit?: Transmission,
  ): Transmission {
    const { ackTimeout, ackRandomFactor } = this.params;
    const t: Transmission = {
      messageId,
      peer,
      data,
      timeout: inherit ? inherit.timeout : ackTimeout * (1 + this.random() * (ackRandomFactor - 1)),
      sent: inherit ? inherit.sent : 1,
      timer: undefined,
      dueAt: 0,
      ...handlers,
    };
    const fire = (): void => {
      if (this.transmissions?.get(messageId) !== t) return;
      if (t.sent - 1 < this.params.maxRetransmit) {
        t.sent++;
        t.timeout *= 2;
        t.dueAt = this.clock.now() + t.timeout;
        t.timer = this.clock.setTimeout(fire, t.timeout);
        this.send(data, peer);
      } else {
        this.#delete(messageId);
        t.onTimeout(t.sent);
      }
    };
    (this.transmissions ??= new Map()).set(messageId, t);
    if (inherit) {
      const wait = Math.max(0, inherit.dueAt - this.clock.now());
      t.dueAt = this.clock.now() + wait;
      t.timer = this.clock.setTimeout(fire, wait);
    } else {
      t.dueAt = this.clock.now() + t.timeout;
      t.timer = this.clock.setTimeout(fire, t.timeout);
      this.send(data, peer);
    }
    return t;
  }

  stop(t: Transmission): void {
    this.clock.clearTimeout(t.timer);
    if (this.transmissions?.get(t.messageId) === t) this.#delete(t.messageId);
  }

  #delete(messageId: number): void {
    const map = this.transmissions!;
    map.delete(messageId);
    if (map.size === 0) this.transmissions = undefined;
  }

  /** Stops every transmission and returns them (the endpoint closes). */
  stopAll(): Transmission[] {
    const all = [...(this.transmissions?.values() ?? [])];
    for (const t of all) this.clock.clearTimeout(t.timer);
    this.transmissions = undefined;
    return all;
  }
}

/** NSTART (RFC 7252 §4.7): at most `limit` outstanding requests per peer; the rest wait in order. */
export class PeerSlots {
  /** Made for the first request, like the endpoint's other tables. */
  private slots: Map<string, { active: number; waiters: Array<{ go(): void; fail(e: Error): void }> }> | undefined;

  constructor(private readonly limit: number) {}

  acquire(key: string): Promise<void> {
    const slots = (this.slots ??= new Map());
    let slot = slots.get(key);
    if (!slot) slots.set(key, (slot = { active: 0, waiters: [] }));
    if (slot.active < this.limit) {
      slot.active++;
      return Promise.resolve();
    }
    const s = slot;
    return new Promise<void>((go, fail) => s.waiters.push({ go: () => (s.active++, go()), fail }));
  }

  release(key: string): void {
    const slot = this.slots?.get(key);
    if (!slot) return;
    slot.active--;
    const next = slot.waiters.shift();
    if (next) next.go();
    else if (slot.active === 0) this.slots!.delete(key);
  }

  /** Fails every waiting request (the endpoint closes). */
  failAll(): void {
    for (const slot of this.slots?.values() ?? []) for (const w of slot.waiters.splice(0)) w.fail(new CoapClosedError('endpoint closed'));
  }
}
