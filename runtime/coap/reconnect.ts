// Endpoints that outlive a server restart: a TCP/TLS endpoint that reconnects on demand and a DTLS endpoint that re-handshakes.
import type { DtlsTransport } from './dtls.js';
import { CoapClosedError, CoapTimeoutError } from './errors.js';
import { TransportError } from './stream-errors.js';
import type { StreamCoapEndpoint } from './tcp.js';
import type {
  Block1Selector, CoapEndpoint, IncomingResponse, NotificationOutcome, OutgoingRequest, OutgoingResponse, Peer, RequestHandler,
} from './types.js';

/**
 * A CoapEndpoint whose connection (TCP/TLS) or session (DTLS) is replaced when it dies: the next request() opens a
 * new one first. What the endpoint cannot recover from is reported to its listeners and rejects that request.
 */
export interface RecoveringEndpoint extends CoapEndpoint {
  /** A failure to open the new connection or session (TlsError, DtlsError); the request that asked for it rejects with it too. */
  onReconnectError(listener: (err: Error) => void): () => void;
  /** The connection or session ended without close() (server gone, fatal alert): the next request re-opens it. */
  onConnectionLost(listener: (err: Error | undefined) => void): () => void;
  /** How many connections or sessions were opened after the first. */
  readonly reconnects: number;
}

/** A small listener list; listeners are the app's code, so one that throws must not stop the others or the endpoint. */
class Listeners<T> {
  readonly #list: ((value: T) => void)[] = [];
  add(listener: (value: T) => void): () => void {
    this.#list.push(listener);
    return () => {
      const i = this.#list.indexOf(listener);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }
  call(value: T): void {
    for (const l of [...this.#list]) {
      try {
        l(value);
      } catch {
        // see class comment
      }
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new TransportError('network', 'the connection could not be opened');
}

/**
 * coap+tcp:// and coaps+tcp://: delegates to the current StreamCoapEndpoint and, once it has closed, connects again
 * (with `connect`, i.e. the same options) on the next request. The serve() handler carries over to every new
 * connection. Notifications are not a reason to reconnect: an observation dies with its connection (RFC 8323 §7.2).
 */
export class ReconnectingStreamEndpoint implements RecoveringEndpoint {
  readonly #connect: () => Promise<StreamCoapEndpoint>;
  readonly #errors = new Listeners<Error>();
  readonly #lost = new Listeners<Error | undefined>();
  #current: StreamCoapEndpoint;
  #opening: Promise<StreamCoapEndpoint> | undefined;
  #handler: RequestHandler | undefined;
  #selector: Block1Selector | undefined;
  #closed = false;
  #reconnects = 0;

  private constructor(first: StreamCoapEndpoint, connect: () => Promise<StreamCoapEndpoint>) {
    this.#connect = connect;
    this.#current = first;
    this.#attach(first);
  }

  /** Opens the first connection now (its failure rejects, as connecting always did) and later ones on demand. */
  static async open(connect: () => Promise<StreamCoapEndpoint>): Promise<ReconnectingStreamEndpoint> {
    return new ReconnectingStreamEndpoint(await connect(), connect);
  }

  /** The connection in use (closed until the next request replaces it). */
  get current(): StreamCoapEndpoint {
    return this.#current;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** The server end of the current connection; the same host and port on every connection. */
  remote(): Peer {
    return this.#current.remote();
  }

  address(): Peer {
    return this.#current.address();
  }

  onReconnectError(listener: (err: Error) => void): () => void {
    return this.#errors.add(listener);
  }

  onConnectionLost(listener: (err: Error | undefined) => void): () => void {
    return this.#lost.add(listener);
  }

  serve(handler: RequestHandler): void {
    this.#handler = handler;
    this.#current.serve(handler);
  }

  /** Carried over to every new connection, like the handler. */
  streamBlock1(selector: Block1Selector | undefined): void {
    this.#selector = selector;
    this.#current.streamBlock1(selector);
  }

  async request(peer: Peer, request: OutgoingRequest): Promise<IncomingResponse> {
    const endpoint = await this.#live();
    return endpoint.request(peer, request);
  }

  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome> {
    return this.#current.notify(peer, token, response, confirmable);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const opening = this.#opening;
    if (opening !== undefined) await opening.catch(() => undefined);
    await this.#current.close();
  }

  #live(): Promise<StreamCoapEndpoint> {
    if (this.#closed) return Promise.reject(new CoapClosedError('the endpoint is closed', this.#current.remote()));
    if (!this.#current.closed) return Promise.resolve(this.#current);
    // One connection attempt at a time: requests arriving meanwhile wait for it rather than opening their own.
    this.#opening ??= this.#reopen().finally(() => { this.#opening = undefined; });
    return this.#opening;
  }

  async #reopen(): Promise<StreamCoapEndpoint> {
    let endpoint: StreamCoapEndpoint;
    try {
      endpoint = await this.#connect();
    } catch (err) {
      const e = asError(err);
      if (!this.#closed) this.#errors.call(e);
      throw e;
    }
    if (this.#closed) {
      await endpoint.close();
      throw new CoapClosedError('the endpoint is closed', endpoint.remote());
    }
    this.#reconnects++;
    this.#current = endpoint;
    this.#attach(endpoint);
    return endpoint;
  }

  #attach(endpoint: StreamCoapEndpoint): void {
    if (this.#handler !== undefined) endpoint.serve(this.#handler);
    if (this.#selector !== undefined) endpoint.streamBlock1(this.#selector);
    endpoint.onClose((err) => {
      // Our own close() and a connection already replaced are not losses.
      if (this.#closed || this.#current !== endpoint) return;
      this.#lost.call(err);
    });
  }
}

/**
 * coaps://: a CoAP endpoint over a DtlsTransport that re-handshakes before the next request once the session is
 * suspect: a request timed out (a restarted server drops records of a session it no longer knows), the session
 * ended (fatal alert) or a previous handshake failed. Sessions are not torn down on a timeout right away, so an
 * exchange that is merely slow is not cut short by a request that gave up.
 */
export class RehandshakingEndpoint implements RecoveringEndpoint {
  readonly #endpoint: CoapEndpoint;
  readonly #transport: DtlsTransport;
  readonly #errors = new Listeners<Error>();
  readonly #lost = new Listeners<Error | undefined>();
  #stale = false;
  /** A session is lost once: a library that reports both an error and a close must not trigger two recoveries. */
  #lostReported = false;
  #handshaking: Promise<void> | undefined;
  #closed = false;
  #reconnects = 0;

  /** `endpoint` is the message layer over `transport`; closing this closes it (and with it the transport). */
  constructor(endpoint: CoapEndpoint, transport: DtlsTransport) {
    this.#endpoint = endpoint;
    this.#transport = transport;
    transport.onError((err) => {
      this.#stale = true;
      if (this.#closed || this.#lostReported) return;
      this.#lostReported = true;
      this.#lost.call(err);
    });
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** True when the next request will re-handshake first. */
  get stale(): boolean {
    return this.#stale || !this.#transport.connected;
  }

  /** Makes the next request re-handshake first, e.g. when the app knows the server restarted. */
  invalidateSession(): void {
    this.#stale = true;
  }

  onReconnectError(listener: (err: Error) => void): () => void {
    return this.#errors.add(listener);
  }

  onConnectionLost(listener: (err: Error | undefined) => void): () => void {
    return this.#lost.add(listener);
  }

  async request(peer: Peer, request: OutgoingRequest): Promise<IncomingResponse> {
    if (this.#closed) throw new CoapClosedError('the endpoint is closed', this.#transport.remote);
    if (this.stale) await this.#handshake();
    try {
      return await this.#endpoint.request(peer, request);
    } catch (err) {
      if (err instanceof CoapTimeoutError) this.#stale = true;
      throw err;
    }
  }

  serve(handler: RequestHandler): void {
    this.#endpoint.serve(handler);
  }

  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome> {
    return this.#endpoint.notify(peer, token, response, confirmable);
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    this.#endpoint.streamBlock1?.(selector);
  }

  address(): Peer {
    return this.#endpoint.address();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const handshaking = this.#handshaking;
    if (handshaking !== undefined) await handshaking.catch(() => undefined);
    await this.#endpoint.close();
  }

  #handshake(): Promise<void> {
    // Requests queued behind a handshake share it instead of each starting one.
    this.#handshaking ??= (async () => {
      try {
        await this.#transport.reconnect();
      } catch (err) {
        const e = asError(err);
        if (!this.#closed) this.#errors.call(e);
        throw e;
      }
      this.#stale = false;
      this.#lostReported = false;
      this.#reconnects++;
    })().finally(() => { this.#handshaking = undefined; });
    return this.#handshaking;
  }
}
