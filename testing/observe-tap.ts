// The server's side of Observe below the CoAP endpoint: notifications taken off the wire by token, ACK/RST, and cancel with the same token.
import {
  decodeMessage, decodeUint, encodeMessage, encodeUint, OptionNumber,
  type CoapMessage, type DatagramTransport, type IncomingResponse, type Peer, type RawOption, type ResponseCode,
} from 'lwm2m-gen/runtime';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** How often, and how many times, a cancel is sent before it is given up (loopback: generous). */
const CANCEL_RESEND_MS = 500;
const CANCEL_TRIES = 4;

/** A notification the server received for an observation it made. */
export interface Notification {
  readonly code: string;
  readonly observe: number | undefined;
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
  readonly confirmable: boolean;
}

/** An observation as the server holds it: the raw first response and notifications (see RegisteredDevice.observe for typed values). */
export interface Observation {
  readonly token: Uint8Array;
  /** The first response. */
  readonly response: IncomingResponse;
  readonly notifications: Notification[];
  /** Resolves with the next notification (the n-th from now). */
  next(): Promise<Notification>;
  /** Stops accepting notifications: the next one gets RST, which cancels it client-side (RFC 7641 §3.6, passive). */
  reset(): void;
  /** Cancels actively: GET with Observe=1 and the observation's token (RFC 7641 §3.6); resolves with the response code. */
  cancel(): Promise<ResponseCode>;
}

interface State {
  readonly token: Uint8Array;
  readonly notifications: Notification[];
  readonly waiters: Array<() => void>;
  active: boolean;
  cancelling: { readonly messageId: number; readonly done: (result: ResponseCode | Error) => void } | undefined;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function emptyMessage(type: 'ACK' | 'RST', messageId: number): Uint8Array {
  return encodeMessage({ type, code: '0.00', messageId, token: EMPTY, options: [], payload: EMPTY });
}

function option(m: CoapMessage, n: number): RawOption | undefined {
  return m.options.find((o) => o.number === n);
}

/** Holds the server's observations; the transport's datagrams pass through `take` before the endpoint sees them. */
export class ObservationTap {
  readonly #transport: DatagramTransport;
  readonly #states = new Map<string, State>();
  #messageId = Math.floor(Math.random() * 0x10000);

  constructor(transport: DatagramTransport) {
    this.#transport = transport;
  }

  /** Starts collecting the notifications that carry the first response's token. */
  track(response: IncomingResponse, path: readonly string[], accept: number | undefined): Observation {
    const state: State = { token: response.token, notifications: [], waiters: [], active: true, cancelling: undefined };
    this.#states.set(hex(response.token), state);
    let consumed = 0;
    return {
      token: response.token,
      response,
      notifications: state.notifications,
      next: () => {
        const i = consumed++;
        const have = state.notifications[i];
        if (have) return Promise.resolve(have);
        return new Promise<Notification>((resolve) => {
          const check = (): void => {
            const n = state.notifications[i];
            if (n) resolve(n);
            else state.waiters.push(check);
          };
          state.waiters.push(check);
        });
      },
      reset: () => {
        state.active = false;
      },
      cancel: () => this.#cancel(state, response.peer, path, accept),
    };
  }

  #cancel(state: State, peer: Peer, path: readonly string[], accept: number | undefined): Promise<ResponseCode> {
    state.active = false;
    this.#messageId = (this.#messageId + 1) & 0xffff;
    const messageId = this.#messageId;
    const options: RawOption[] = [
      { number: OptionNumber.Observe, value: encodeUint(1) },
      ...path.map((s) => ({ number: OptionNumber.UriPath, value: utf8.encode(s) })),
    ];
    if (accept !== undefined) options.push({ number: OptionNumber.Accept, value: encodeUint(accept) });
    const request = encodeMessage({ type: 'CON', code: '0.01', messageId, token: state.token, options, payload: EMPTY });
    return new Promise((resolve, reject) => {
      let tries = 1;
      const timer = setInterval(() => {
        if (tries++ < CANCEL_TRIES) {
          void this.#transport.send(request, peer);
          return;
        }
        clearInterval(timer);
        state.cancelling = undefined;
        reject(new Error(`no answer to the cancel of the observation of /${path.join('/')}`));
      }, CANCEL_RESEND_MS);
      state.cancelling = {
        messageId,
        done: (result) => {
          clearInterval(timer);
          this.#states.delete(hex(state.token));
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      void this.#transport.send(request, peer);
    });
  }

  /** True when the datagram belonged to one of the observations (then it is answered here). */
  take(data: Uint8Array, peer: Peer): boolean {
    const m = decodeMessage(data);
    if (!m) return false;
    if (m.type === 'ACK' || m.type === 'RST') return this.#takeCancelAnswer(m);
    if (!/^[245]\./.test(m.code)) return false;
    const state = this.#states.get(hex(m.token));
    if (!state) return false;
    const observe = option(m, OptionNumber.Observe);
    if (state.cancelling) {
      // A separate response to the cancel carries no Observe; a notification racing it is acknowledged and dropped.
      if (m.type === 'CON') void this.#transport.send(emptyMessage('ACK', m.messageId), peer);
      if (!observe) state.cancelling.done(m.code as ResponseCode);
      return true;
    }
    if (!state.active) {
      void this.#transport.send(emptyMessage('RST', m.messageId), peer);
      return true;
    }
    if (m.type === 'CON') void this.#transport.send(emptyMessage('ACK', m.messageId), peer);
    const cf = option(m, OptionNumber.ContentFormat);
    state.notifications.push({
      code: m.code,
      observe: observe ? decodeUint(observe.value) : undefined,
      contentFormat: cf ? decodeUint(cf.value) : undefined,
      payload: m.payload,
      confirmable: m.type === 'CON',
    });
    for (const w of state.waiters.splice(0)) w();
    return true;
  }

  #takeCancelAnswer(m: CoapMessage): boolean {
    for (const state of this.#states.values()) {
      const c = state.cancelling;
      if (!c || c.messageId !== m.messageId) continue;
      if (m.type === 'RST') c.done(new Error('the device answered the cancel of an observation with RST'));
      // An empty ACK: the response follows separately, as a CON or NON with the token.
      else if (m.code !== '0.00') c.done(m.code as ResponseCode);
      return true;
    }
    return false;
  }
}
