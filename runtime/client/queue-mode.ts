// Queue mode (LwM2M 1.1 §6.5): the client is reachable for an awake period after each exchange, then sleeps (its radio off) until it wakes itself.
import type { Clock, TimerHandle } from '../coap/clock.js';
import type { DatagramTransport, Peer } from '../coap/types.js';

/** RFC 7252's MAX_TRANSMIT_WAIT with the default transmission parameters, in ms: LwM2M's default awake period. */
export const DEFAULT_AWAKE_MS = 93_000;

/** What "the client does not accept requests" is on the wire: incoming datagrams dropped while the radio is off. */
export interface Radio {
  readonly asleep: boolean;
  sleep(): void;
  wake(): void;
}

/** How the client runs queue mode. */
export interface QueueModeOptions {
  /** How long the client stays awake after its last exchange, in ms (default 93 000, CoAP MAX_TRANSMIT_WAIT). */
  readonly awakeMs?: number;
  /**
   * What drops the server's messages while asleep. connectClient passes the one of the transport it opens
   * (coap://, coaps://); for an endpoint of your own, make it with `queueModeTransport`. Without one, requests that
   * arrive while asleep are answered 5.03 (Service Unavailable), as the endpoint cannot leave them unanswered.
   */
  readonly radio?: Radio;
}

/** Why the client woke: the app asked, a notification (or another held message) was due, a Send, or an Update was due. */
export type WakeReason = 'app' | 'notification' | 'send' | 'update';

/**
 * The datagram transport with a radio switch: while asleep, what arrives is dropped unread, as a device with its radio
 * off never hears it. Build the CoAP endpoint on `transport` and give `radio` to the client's queueMode.
 */
export function queueModeTransport(inner: DatagramTransport): { readonly transport: DatagramTransport; readonly radio: Radio } {
  let asleep = false;
  const radio: Radio = {
    get asleep() { return asleep; },
    sleep: () => { asleep = true; },
    wake: () => { asleep = false; },
  };
  const transport: DatagramTransport = {
    send: (data: Uint8Array, peer: Peer) => inner.send(data, peer),
    onMessage: (listener) => inner.onMessage((data, peer) => {
      if (!asleep) listener(data, peer);
    }),
    address: () => inner.address(),
    close: () => inner.close(),
  };
  return { transport, radio };
}

export interface QueueModeControllerOptions extends QueueModeOptions {
  readonly clock: Clock;
  /** The awake period ended: stop being reachable. */
  readonly onSleep: () => void;
  /** The client woke (its radio is on again). */
  readonly onWake: (reason: WakeReason) => void;
}

/** The awake timer and the sleeping state of one client. */
export class QueueModeController {
  readonly awakeMs: number;
  readonly #o: QueueModeControllerOptions;
  #asleep = false;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: QueueModeControllerOptions) {
    this.#o = options;
    this.awakeMs = Math.max(0, options.awakeMs ?? DEFAULT_AWAKE_MS);
  }

  get asleep(): boolean {
    return this.#asleep;
  }

  /** An exchange with the server (a request served, a notification or Update sent): the awake period starts again. */
  activity(): void {
    if (this.#asleep || this.#stopped) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#sleep();
    }, this.awakeMs);
  }

  /** Turns the radio on again; false when the client was awake already. */
  wake(reason: WakeReason): boolean {
    if (!this.#asleep || this.#stopped) return false;
    this.#asleep = false;
    this.#o.radio?.wake();
    this.#o.onWake(reason);
    this.activity();
    return true;
  }

  /** The client stopped: no more timers, radio on (the endpoint may be used for a De-register). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#asleep = false;
    this.#o.radio?.wake();
  }

  /** Started (again): timers may run. */
  start(): void {
    this.#stopped = false;
  }

  #sleep(): void {
    if (this.#asleep || this.#stopped) return;
    this.#asleep = true;
    this.#o.radio?.sleep();
    this.#o.onSleep();
  }
}
