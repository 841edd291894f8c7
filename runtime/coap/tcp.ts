// A CoapEndpoint over one reliable byte stream (RFC 8323): the exchange core with the stream profile, CSM, Ping/Pong, Release/Abort, token matching.
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import type { BlockProfile } from './blocks.js';
import { hex } from './bytes.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { codeToString } from './codes.js';
import { CoapClosedError, CoapMessageError, CoapTimeoutError } from './errors.js';
import { decodeUint, encodeUint } from './message.js';
import { EMPTY, type Reply } from './reply.js';
import { sendRequest, type ResponseMessage } from './request.js';
import { RequestServer } from './serve.js';
import {
  ABORT_OPTION, CSM_OPTION, SIGNAL, StreamFrameDecoder, StreamFramingError, codeFromString, encodeStreamMessage,
  type StreamMessage,
} from './stream-codec.js';
import { TlsError, errorCode, type TransportError } from './stream-errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE, streamBlockProfile } from './stream-profile.js';
import type {
  Block1Selector, CoapEndpoint, IncomingResponse, NotificationOutcome, OutgoingRequest, OutgoingResponse, Peer, RawOption,
  RequestHandler,
} from './types.js';

export interface StreamEndpointOptions {
  /** Largest message we accept, advertised in our CSM (RFC 8323 default is 1152). Default 65536. */
  readonly maxMessageSize?: number;
  /**
   * Advertise and use block-wise transfers (RFC 8323 §6). Default true. With a maxMessageSize above 1152 the CSM
   * offers BERT too (blocks of several KiB, §5.3.2); it is used when the peer's CSM offers it as well.
   */
  readonly blockWise?: boolean;
  /** Largest block size exponent we use when we split without BERT (0..6, 6 = 1024 bytes). Default 6. */
  readonly blockSzx?: number;
  /** Time a request waits for its response. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Time `ready` waits for the peer's CSM. Default 5 000 ms. */
  readonly csmTimeoutMs?: number;
  /** How long a large response stays cached for the peer's follow-up Block2 requests, and a Block1 transfer waits for its next block. Default 60 000 ms. */
  readonly blockCacheMs?: number;
  /** Largest body reassembled from blocks, in either direction. Default 1 MiB; a larger Block1 upload gets 4.13. */
  readonly maxBodySize?: number;
  /** Concurrent incoming Block1 transfers; a new one beyond this gets 5.03. Default 8. */
  readonly maxBlock1Transfers?: number;
  /** Large responses kept for follow-up Block2 requests; the oldest is dropped beyond this. Default 32. */
  readonly maxBlock2Entries?: number;
  /** Critical options (odd numbers) the handler understands beyond the ones the layer does; others get 4.02. */
  readonly knownOptions?: readonly number[];
  /** Time for the protocol's timeouts (request, Ping, CSM). */
  readonly clock?: Clock;
  /** Called with errors the layer swallows to keep running, e.g. a handler's failure answered 5.00. */
  readonly onError?: (error: unknown) => void;
}

/** What the peer announced in its CSM (RFC 8323 §5.3), with the defaults that apply before it arrives. */
export interface PeerCapabilities {
  readonly maxMessageSize: number;
  readonly blockWise: boolean;
}

const fromUtf8 = new TextDecoder();
const utf8 = new TextEncoder();

interface Pending {
  resolve(msg: StreamMessage): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

/**
 * One RFC 8323 connection seen as a CoapEndpoint. Symmetric: a client wraps the socket it connected, a server
 * wraps each socket it accepted. Sends its CSM at once; `ready` resolves when the peer's CSM has arrived.
 */
export class StreamCoapEndpoint implements CoapEndpoint {
  readonly ready: Promise<void>;
  readonly #socket: net.Socket;
  readonly #decoder: StreamFrameDecoder;
  readonly #clock: Clock;
  readonly #maxMessageSize: number;
  readonly #ours: { readonly blockWise: boolean; readonly szx: number; readonly bert: boolean };
  readonly #requestTimeoutMs: number;
  readonly #maxBodySize: number;
  readonly #profile: BlockProfile;
  readonly #server: RequestServer;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #pings = new Map<string, Pending>();
  readonly #closeListeners: ((err: TransportError | undefined) => void)[] = [];
  readonly #local: Peer;
  readonly #remote: Peer;
  #peer: PeerCapabilities = { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE, blockWise: false };
  #csmSeen = false;
  #csmWaiter: { resolve(): void; reject(err: Error): void } | undefined;
  #tokenCounter: number;
  #closed = false;
  #released = false;
  #closeError: TransportError | undefined;

  constructor(socket: net.Socket, options: StreamEndpointOptions = {}) {
    this.#socket = socket;
    this.#clock = options.clock ?? systemClock;
    this.#maxMessageSize = options.maxMessageSize ?? 65536;
    const blockWise = options.blockWise ?? true;
    this.#ours = {
      blockWise,
      szx: Math.min(6, Math.max(0, options.blockSzx ?? 6)),
      bert: blockWise && this.#maxMessageSize > DEFAULT_MAX_MESSAGE_SIZE,
    };
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#maxBodySize = options.maxBodySize ?? 1 << 20;
    this.#onError = options.onError;
    this.#profile = streamBlockProfile({ ours: this.#ours, peer: () => this.#peer });
    const blockCacheMs = options.blockCacheMs ?? 60_000;
    this.#server = new RequestServer({
      clock: this.#clock,
      profile: this.#profile,
      maxBodySize: this.#maxBodySize,
      maxBlock1Transfers: options.maxBlock1Transfers ?? 8,
      blockTransferTimeout: blockCacheMs,
      maxBlock2Entries: options.maxBlock2Entries ?? 32,
      block2Lifetime: blockCacheMs,
      ...(options.knownOptions ? { knownOptions: options.knownOptions } : {}),
      reportError: (err) => this.#reportError(err),
    });
    this.#decoder = new StreamFrameDecoder(this.#maxMessageSize);
    this.#tokenCounter = randomBytes(4).readUInt32BE(0);
    this.#local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);

    const csmTimeout = options.csmTimeoutMs ?? 5_000;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#csmWaiter = undefined;
        const err = new TlsError('protocol', 'the peer sent no CSM in time');
        reject(err);
        this.#abort('no CSM', 'protocol');
      }, csmTimeout);
      this.#csmWaiter = {
        resolve: () => { this.#clock.clearTimeout(timer); resolve(); },
        reject: (err) => { this.#clock.clearTimeout(timer); reject(err); },
      };
    });
    // Unobserved failures of `ready` are reported through onClose and request rejections instead.
    this.ready.catch(() => undefined);

    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#teardown(new TlsError('network', `connection error (${errorCode(err) ?? 'unknown'})`, errorCode(err))));
    socket.on('close', () => this.#teardown(this.#closeError ?? new TlsError('closed', 'connection closed')));
    this.#sendCsm();
  }

  /** The peer's announced limits (defaults until its CSM arrives). */
  get peerCapabilities(): PeerCapabilities {
    return this.#peer;
  }

  /** Whether block-wise transfers on this connection use BERT: both CSMs offered it (RFC 8323 §6). */
  get bert(): boolean {
    return this.#profile.maxSzx === 7;
  }

  /** The connection's remote end. */
  remote(): Peer {
    return this.#remote;
  }

  address(): Peer {
    return this.#local;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called once when the connection ends; the error is undefined after our own close(). */
  onClose(listener: (err: TransportError | undefined) => void): void {
    if (this.#closed) listener(this.#closeError);
    else this.#closeListeners.push(listener);
  }

  serve(handler: RequestHandler): void {
    this.#server.serve(handler);
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    this.#server.streamBlock1(selector);
  }

  request(_peer: Peer, req: OutgoingRequest): Promise<IncomingResponse> {
    // The connection has one remote end; `peer` is accepted for the CoapEndpoint contract only.
    return sendRequest(this.#remote, req, (code, options, payload) => this.#exchange(code, options, payload), this.#profile, this.#maxBodySize);
  }

  async notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, _confirmable: boolean): Promise<NotificationOutcome> {
    // Over a reliable stream there is no CON/ACK: a notification is done once written; a dead connection means the observer is gone.
    if (this.#closed) return 'reset';
    const reply = this.#server.notification(peer, token, response);
    return new Promise<NotificationOutcome>((resolve) => {
      try {
        this.#socket.write(encodeStreamMessage(this.#message(token, reply)), (err) => resolve(err ? 'reset' : 'sent'));
      } catch {
        resolve('reset');
      }
    });
  }

  /** Sends a 7.02 Ping and resolves with the round-trip time in ms when the 7.03 Pong arrives. */
  async ping(timeoutMs = this.#requestTimeoutMs): Promise<number> {
    const token = this.#nextToken();
    const started = performance.now();
    await new Promise<StreamMessage>((resolve, reject) => {
      const key = hex(token);
      const timer = this.#clock.setTimeout(() => {
        this.#pings.delete(key);
        reject(new CoapTimeoutError('no Pong within the timeout', this.#remote, 1));
      }, timeoutMs);
      this.#pings.set(key, { resolve, reject, timer });
      this.#write({ code: SIGNAL.Ping, token, options: [], payload: EMPTY });
    });
    return performance.now() - started;
  }

  /** Ends the connection gracefully: 7.04 Release, then FIN; outstanding requests are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#write({ code: SIGNAL.Release, token: EMPTY, options: [], payload: EMPTY });
    await new Promise<void>((resolve) => {
      // Socket housekeeping, not protocol time: a real timer that does not keep the process alive.
      const timer = setTimeout(() => { this.#socket.destroy(); }, 1_000);
      timer.unref();
      this.#socket.once('close', () => { clearTimeout(timer); resolve(); });
      this.#closeError = undefined;
      this.#teardown(undefined);
      this.#socket.end();
    });
  }

  /** Sends 7.05 Abort with a diagnostic and drops the connection (RFC 8323 §5.6). */
  abort(diagnostic: string, badCsmOption?: number): void {
    this.#abort(diagnostic, 'aborted', badCsmOption);
  }

  #abort(diagnostic: string, failure: 'aborted' | 'protocol', badCsmOption?: number): void {
    if (this.#closed) return;
    this.#write({
      code: SIGNAL.Abort, token: EMPTY,
      options: badCsmOption === undefined ? [] : [{ number: ABORT_OPTION.BadCsmOption, value: encodeUint(badCsmOption) }],
      payload: utf8.encode(diagnostic),
    });
    const err = new TlsError(failure, failure === 'aborted' ? `connection aborted: ${diagnostic}` : `protocol error, connection aborted: ${diagnostic}`);
    this.#closeError = err;
    this.#teardown(err);
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 100).unref();
  }

  #reportError(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // An error hook that throws must not take the endpoint down.
    }
  }

  #sendCsm(): void {
    const options: RawOption[] = [{ number: CSM_OPTION.MaxMessageSize, value: encodeUint(this.#maxMessageSize) }];
    if (this.#ours.blockWise) options.push({ number: CSM_OPTION.BlockWiseTransfer, value: EMPTY });
    this.#write({ code: SIGNAL.CSM, token: EMPTY, options, payload: EMPTY });
  }

  #write(msg: StreamMessage): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(encodeStreamMessage(msg));
  }

  #message(token: Uint8Array, reply: Reply): StreamMessage {
    return { code: codeFromString(reply.code), token, options: reply.options, payload: reply.payload };
  }

  #nextToken(): Uint8Array {
    this.#tokenCounter = (this.#tokenCounter + 1) >>> 0;
    const t = Buffer.alloc(4);
    t.writeUInt32BE(this.#tokenCounter);
    return t;
  }

  #exchange(code: string, options: readonly RawOption[], payload: Uint8Array): Promise<ResponseMessage> {
    if (this.#closed || this.#released) {
      return Promise.reject(new CoapClosedError(`the connection is closed${this.#closeError ? ` (${this.#closeError.failure})` : ''}`, this.#remote));
    }
    const token = this.#nextToken();
    const key = hex(token);
    return new Promise<ResponseMessage>((resolve, reject) => {
      let frame: Buffer;
      try {
        frame = encodeStreamMessage({ code: codeFromString(code), token, options, payload });
      } catch (err) {
        reject(new CoapMessageError(`cannot encode request: ${(err as Error).message}`, this.#remote));
        return;
      }
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(key);
        reject(new CoapTimeoutError(`no response within ${this.#requestTimeoutMs} ms`, this.#remote, 1));
      }, this.#requestTimeoutMs);
      this.#pending.set(key, {
        resolve: (m) => resolve({ code: codeToString(m.code), token: m.token, options: m.options, payload: m.payload }),
        reject,
        timer,
      });
      if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(frame);
    });
  }

  #onData(chunk: Buffer): void {
    let messages: StreamMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.#abort(err instanceof StreamFramingError ? err.message : 'malformed message', 'protocol');
      return;
    }
    for (const msg of messages) {
      if (this.#closed) return;
      this.#onMessage(msg);
    }
  }

  #onMessage(msg: StreamMessage): void {
    const cls = msg.code >> 5;
    if (cls === 7) return this.#onSignal(msg);
    if (!this.#csmSeen) {
      // RFC 8323 §5.3: the CSM must be the first message; anything else first is a protocol error.
      this.#abort('first message was not a CSM', 'protocol');
      return;
    }
    if (msg.code === 0) return; // Empty messages are ignored over reliable transports (RFC 8323 §3.3).
    if (cls === 0) {
      void this.#onRequest(msg);
      return;
    }
    const key = hex(msg.token);
    const p = this.#pending.get(key);
    if (p === undefined) return; // No RST over TCP: a response for nothing pending is dropped.
    this.#pending.delete(key);
    this.#clock.clearTimeout(p.timer);
    p.resolve(msg);
    if (this.#released && this.#pending.size === 0) void this.close();
  }

  #onSignal(msg: StreamMessage): void {
    switch (msg.code) {
      case SIGNAL.CSM: {
        let { maxMessageSize, blockWise } = this.#peer;
        for (const o of msg.options) {
          if (o.number === CSM_OPTION.MaxMessageSize) maxMessageSize = decodeUint(o.value);
          else if (o.number === CSM_OPTION.BlockWiseTransfer) blockWise = true;
          else if (o.number % 2 === 1) {
            this.#abort(`unsupported critical CSM option ${o.number}`, 'protocol', o.number);
            return;
          }
        }
        this.#peer = { maxMessageSize, blockWise };
        if (!this.#csmSeen) {
          this.#csmSeen = true;
          this.#csmWaiter?.resolve();
          this.#csmWaiter = undefined;
        }
        return;
      }
      case SIGNAL.Ping:
        this.#write({ code: SIGNAL.Pong, token: msg.token, options: [], payload: EMPTY });
        return;
      case SIGNAL.Pong: {
        // Some peers (libcoap 4.3) answer with an empty token; Pongs come in order, so fall back to the oldest Ping.
        let key = hex(msg.token);
        if (!this.#pings.has(key)) key = this.#pings.keys().next().value ?? '';
        const p = this.#pings.get(key);
        if (p) {
          this.#pings.delete(key);
          this.#clock.clearTimeout(p.timer);
          p.resolve(msg);
        }
        return;
      }
      case SIGNAL.Release:
        // Finish what is outstanding, start nothing new, then close (RFC 8323 §5.5).
        this.#released = true;
        if (this.#pending.size === 0) void this.close();
        return;
      case SIGNAL.Abort: {
        const text = fromUtf8.decode(msg.payload).replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
        const err = new TlsError('aborted', `the peer aborted the connection${text ? `: ${text}` : ''}`);
        this.#closeError = err;
        this.#teardown(err);
        this.#socket.destroy();
        return;
      }
      default:
        return; // Unknown signals are ignored; their critical options would only matter if we implemented them.
    }
  }

  async #onRequest(msg: StreamMessage): Promise<void> {
    const reply = await this.#server.process({ code: codeToString(msg.code), token: msg.token, options: msg.options, payload: msg.payload }, this.#remote, true);
    if (this.#closed) return;
    try {
      this.#write(this.#message(msg.token, reply));
    } catch (err) {
      this.#reportError(new CoapMessageError(`cannot encode response: ${(err as Error).message}`, this.#remote));
      this.#write({ code: codeFromString('5.00'), token: msg.token, options: [], payload: EMPTY });
    }
  }

  #teardown(err: TransportError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    if (err !== undefined) this.#closeError = err;
    // Outstanding requests fail as on any other transport (CoapClosedError); the cause goes to onClose listeners.
    const failure = new CoapClosedError(`the connection was closed${err ? ` (${err.failure})` : ''}`, this.#remote);
    for (const p of [...this.#pending.values(), ...this.#pings.values()]) {
      this.#clock.clearTimeout(p.timer);
      p.reject(failure);
    }
    this.#pending.clear();
    this.#pings.clear();
    this.#server.clear();
    this.#csmWaiter?.reject(err ?? failure);
    this.#csmWaiter = undefined;
    for (const l of this.#closeListeners.splice(0)) l(err);
  }
}
