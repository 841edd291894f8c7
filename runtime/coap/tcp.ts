// A CoapEndpoint over one reliable byte stream (RFC 8323): CSM, Ping/Pong, Release/Abort, token matching, block-wise.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import {
  OptionNumber, blockSizeOf, decodeBlock, decodeUint, encodeBlock, encodeUint, getOption, getStringOptions, getUintOption,
  stringOptions, uintOptions, type BlockOption,
} from './message.js';
import {
  ABORT_OPTION, CSM_OPTION, SIGNAL, StreamFrameDecoder, StreamFramingError, codeFromString, codeToString,
  encodeStreamMessage, frameOverhead, type StreamMessage,
} from './stream-codec.js';
import { CoapBlockwiseError, CoapClosedError, CoapTimeoutError } from './errors.js';
import { TlsError, errorCode, type TransportError } from './stream-errors.js';
import type {
  CoapEndpoint, CoapMethod, IncomingRequest, IncomingResponse, NotificationOutcome, OutgoingRequest, OutgoingResponse,
  Peer, RawOption, RequestHandler, ResponseCode,
} from './types.js';

export interface StreamEndpointOptions {
  /** Largest message we accept, advertised in our CSM (RFC 8323 default is 1152). Default 65536. */
  readonly maxMessageSize?: number;
  /** Advertise and use block-wise transfers (RFC 8323 §6). Default true. */
  readonly blockWise?: boolean;
  /** Largest block size exponent we use when we split (0..6, 6 = 1024 bytes). Default 6. */
  readonly blockSzx?: number;
  /** Time a request waits for its response. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Time `ready` waits for the peer's CSM. Default 5 000 ms. */
  readonly csmTimeoutMs?: number;
  /** How long a large response stays cached for the peer's follow-up Block2 requests. Default 60 000 ms. */
  readonly blockCacheMs?: number;
  /** Largest body reassembled from blocks, in either direction. Default 1 MiB; a larger Block1 upload gets 4.13. */
  readonly maxBodySize?: number;
  /** Concurrent incoming Block1 transfers; a new one beyond this gets 5.03. Default 8. */
  readonly maxBlock1Transfers?: number;
  /** Large responses kept for follow-up Block2 requests; the oldest is dropped beyond this. Default 32. */
  readonly maxBlock2Entries?: number;
}

/** What the peer announced in its CSM (RFC 8323 §5.3), with the defaults that apply before it arrives. */
export interface PeerCapabilities {
  readonly maxMessageSize: number;
  readonly blockWise: boolean;
}

const METHODS: readonly (CoapMethod | undefined)[] = [undefined, 'GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'];
const METHOD_CODE: Readonly<Record<CoapMethod, number>> = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, iPATCH: 7 };
// Options this layer interprets; the rest reach the handler raw.
const INTERPRETED: ReadonlySet<number> = new Set<number>([
  OptionNumber.UriPath, OptionNumber.UriQuery, OptionNumber.ContentFormat, OptionNumber.Accept, OptionNumber.Observe,
  OptionNumber.LocationPath, OptionNumber.Block1, OptionNumber.Block2, OptionNumber.Size1, OptionNumber.Size2,
]);
const DEFAULT_PEER_MAX = 1152;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

interface Pending {
  resolve(msg: StreamMessage): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Block1State {
  readonly chunks: Uint8Array[];
  size: number;
  next: number;
  timer: NodeJS.Timeout;
}

interface Block2Cache {
  readonly response: OutgoingResponse;
  readonly payload: Uint8Array;
  timer: NodeJS.Timeout;
}

function block2Of(msg: StreamMessage): BlockOption | undefined {
  const value = getOption(msg.options, OptionNumber.Block2);
  return value === undefined ? undefined : decodeBlock(value);
}

function raw(msg: StreamMessage): RawOption[] {
  return msg.options.filter((o) => !INTERPRETED.has(o.number));
}

function bodyLength(options: readonly RawOption[], payload: Uint8Array): number {
  // An upper bound (4 header bytes per option) is enough to decide whether a message fits.
  return options.reduce((n, o) => n + 5 + o.value.length, 0) + (payload.length > 0 ? payload.length + 1 : 0);
}

/**
 * One RFC 8323 connection seen as a CoapEndpoint. Symmetric: a client wraps the socket it connected, a server
 * wraps each socket it accepted. Sends its CSM at once; `ready` resolves when the peer's CSM has arrived.
 */
export class StreamCoapEndpoint implements CoapEndpoint {
  readonly ready: Promise<void>;
  readonly #socket: net.Socket;
  readonly #decoder: StreamFrameDecoder;
  readonly #maxMessageSize: number;
  readonly #blockWise: boolean;
  readonly #blockSzx: number;
  readonly #requestTimeoutMs: number;
  readonly #blockCacheMs: number;
  readonly #maxBodySize: number;
  readonly #maxBlock1: number;
  readonly #maxBlock2: number;
  readonly #pending = new Map<string, Pending>();
  readonly #pings = new Map<string, Pending>();
  readonly #block1 = new Map<string, Block1State>();
  readonly #block2 = new Map<string, Block2Cache>();
  readonly #closeListeners: ((err: TransportError | undefined) => void)[] = [];
  readonly #local: Peer;
  readonly #remote: Peer;
  #handler: RequestHandler | undefined;
  #peer: PeerCapabilities = { maxMessageSize: DEFAULT_PEER_MAX, blockWise: false };
  #csmSeen = false;
  #csmWaiter: { resolve(): void; reject(err: Error): void } | undefined;
  #tokenCounter: number;
  #closed = false;
  #released = false;
  #closeError: TransportError | undefined;

  constructor(socket: net.Socket, options: StreamEndpointOptions = {}) {
    this.#socket = socket;
    this.#maxMessageSize = options.maxMessageSize ?? 65536;
    this.#blockWise = options.blockWise ?? true;
    this.#blockSzx = Math.min(6, Math.max(0, options.blockSzx ?? 6));
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#blockCacheMs = options.blockCacheMs ?? 60_000;
    this.#maxBodySize = options.maxBodySize ?? 1 << 20;
    this.#maxBlock1 = options.maxBlock1Transfers ?? 8;
    this.#maxBlock2 = options.maxBlock2Entries ?? 32;
    this.#decoder = new StreamFrameDecoder(this.#maxMessageSize);
    this.#tokenCounter = randomBytes(4).readUInt32BE(0);
    this.#local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);

    const csmTimeout = options.csmTimeoutMs ?? 5_000;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#csmWaiter = undefined;
        const err = new TlsError('protocol', 'the peer sent no CSM in time');
        reject(err);
        this.#abort('no CSM', 'protocol');
      }, csmTimeout);
      this.#csmWaiter = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
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
    this.#handler = handler;
  }

  async request(_peer: Peer, req: OutgoingRequest): Promise<IncomingResponse> {
    // The connection has one remote end; `peer` is accepted for the CoapEndpoint contract only.
    const base: RawOption[] = [
      ...uintOptions(OptionNumber.Observe, req.observe),
      ...stringOptions(OptionNumber.UriPath, req.path ?? []),
      ...uintOptions(OptionNumber.ContentFormat, req.contentFormat),
      ...stringOptions(OptionNumber.UriQuery, req.query ?? []),
      ...uintOptions(OptionNumber.Accept, req.accept),
      ...(req.options ?? []),
    ];
    const code = METHOD_CODE[req.method];
    const payload = req.payload ?? EMPTY;
    let res: StreamMessage;
    const fits = frameOverhead(bodyLength(base, payload), 8) + bodyLength(base, payload) <= this.#peer.maxMessageSize;
    if (fits || !this.#peer.blockWise || !this.#blockWise) {
      res = await this.#exchange(code, base, payload);
    } else {
      res = await this.#sendBlock1(code, base, payload);
    }
    // Follow Block2 until the representation is complete (RFC 7959 §2.4), dropping Observe on follow-ups.
    // A Block2 value longer than 3 bytes is malformed (RFC 7959 §2.2) and, like no Block2, ends the transfer.
    let block = block2Of(res);
    if (block?.more === true) {
      const chunks: Uint8Array[] = [res.payload];
      let total = res.payload.length;
      const first = res;
      const follow = base.filter((o) => o.number !== OptionNumber.Observe && o.number !== OptionNumber.ContentFormat);
      while (block?.more === true) {
        const next = await this.#exchange(code === METHOD_CODE.FETCH ? code : METHOD_CODE.GET, [
          ...follow, { number: OptionNumber.Block2, value: encodeBlock({ num: block.num + 1, more: false, szx: block.szx }) },
        ], code === METHOD_CODE.FETCH ? payload : EMPTY);
        if (next.code >> 5 !== 2) return this.#incomingResponse(next, next.payload);
        total += next.payload.length;
        if (total > this.#maxBodySize) {
          throw new CoapBlockwiseError(`Block2 response exceeds maxBodySize (${this.#maxBodySize} bytes)`, this.#remote);
        }
        chunks.push(next.payload);
        block = block2Of(next);
      }
      return this.#incomingResponse(first, Buffer.concat(chunks));
    }
    return this.#incomingResponse(res, res.payload);
  }

  async notify(_peer: Peer, token: Uint8Array, response: OutgoingResponse, _confirmable: boolean): Promise<NotificationOutcome> {
    // Over a reliable stream there is no CON/ACK: a notification is done once written; a dead connection means the observer is gone.
    if (this.#closed) return 'reset';
    const msg = this.#responseMessage(token, response, undefined, '');
    return new Promise<NotificationOutcome>((resolve) => {
      try {
        this.#socket.write(encodeStreamMessage(msg), (err) => resolve(err ? 'reset' : 'sent'));
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
      const key = Buffer.from(token).toString('hex');
      const timer = setTimeout(() => {
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

  #sendCsm(): void {
    const options: RawOption[] = [{ number: CSM_OPTION.MaxMessageSize, value: encodeUint(this.#maxMessageSize) }];
    if (this.#blockWise) options.push({ number: CSM_OPTION.BlockWiseTransfer, value: EMPTY });
    this.#write({ code: SIGNAL.CSM, token: EMPTY, options, payload: EMPTY });
  }

  #write(msg: StreamMessage): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(encodeStreamMessage(msg));
  }

  #nextToken(): Uint8Array {
    this.#tokenCounter = (this.#tokenCounter + 1) >>> 0;
    const t = Buffer.alloc(4);
    t.writeUInt32BE(this.#tokenCounter);
    return t;
  }

  #exchange(code: number, options: readonly RawOption[], payload: Uint8Array): Promise<StreamMessage> {
    if (this.#closed || this.#released) {
      return Promise.reject(new CoapClosedError(`the connection is closed${this.#closeError ? ` (${this.#closeError.failure})` : ''}`, this.#remote));
    }
    const token = this.#nextToken();
    const key = Buffer.from(token).toString('hex');
    return new Promise<StreamMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        reject(new CoapTimeoutError(`no response within ${this.#requestTimeoutMs} ms`, this.#remote, 1));
      }, this.#requestTimeoutMs);
      this.#pending.set(key, { resolve, reject, timer });
      this.#write({ code, token, options, payload });
    });
  }

  #blockSzxFor(options: readonly RawOption[]): number {
    // The largest block that, with the options and framing, fits the peer's Max-Message-Size.
    for (let szx = this.#blockSzx; szx > 0; szx--) {
      const body = bodyLength(options, new Uint8Array(blockSizeOf(szx))) + 8;
      if (frameOverhead(body, 8) + body <= this.#peer.maxMessageSize) return szx;
    }
    return 0;
  }

  async #sendBlock1(code: number, base: readonly RawOption[], payload: Uint8Array): Promise<StreamMessage> {
    let szx = this.#blockSzxFor(base);
    let offset = 0;
    let num = 0;
    for (;;) {
      const size = blockSizeOf(szx);
      const chunk = payload.subarray(offset, offset + size);
      const more = offset + size < payload.length;
      const res = await this.#exchange(code, [
        ...base,
        { number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) },
        { number: OptionNumber.Size1, value: encodeUint(payload.length) },
      ], chunk);
      if (!more || res.code !== codeFromString('2.31')) return res;
      const ack = getOption(res.options, OptionNumber.Block1);
      // The server may ask for smaller blocks (RFC 7959 §2.5); continue at the same byte offset.
      offset += size;
      const a = ack === undefined ? undefined : decodeBlock(ack);
      if (a !== undefined && a.szx < szx && a.szx < 7) szx = a.szx;
      num = offset / blockSizeOf(szx);
    }
  }

  #incomingResponse(msg: StreamMessage, payload: Uint8Array): IncomingResponse {
    const cf = getUintOption(msg.options, OptionNumber.ContentFormat);
    const obs = getUintOption(msg.options, OptionNumber.Observe);
    return {
      peer: this.#remote,
      code: codeToString(msg.code) as ResponseCode,
      token: msg.token,
      ...(cf === undefined ? {} : { contentFormat: cf }),
      ...(obs === undefined ? {} : { observe: obs }),
      locationPath: getStringOptions(msg.options, OptionNumber.LocationPath),
      payload,
      options: raw(msg),
    };
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
    const key = Buffer.from(msg.token).toString('hex');
    const p = this.#pending.get(key);
    if (p === undefined) return; // No RST over TCP: a response for nothing pending is dropped.
    this.#pending.delete(key);
    clearTimeout(p.timer);
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
        let key = Buffer.from(msg.token).toString('hex');
        if (!this.#pings.has(key)) key = this.#pings.keys().next().value ?? '';
        const p = this.#pings.get(key);
        if (p) {
          this.#pings.delete(key);
          clearTimeout(p.timer);
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
    const method = METHODS[msg.code];
    const path = getStringOptions(msg.options, OptionNumber.UriPath);
    const query = getStringOptions(msg.options, OptionNumber.UriQuery);
    const key = `${msg.code}|${path.join('/')}?${query.join('&')}`;
    if (method === undefined) {
      this.#respond(msg.token, { code: '4.05' });
      return;
    }
    let payload = msg.payload;
    const b1raw = getOption(msg.options, OptionNumber.Block1);
    const b2raw = getOption(msg.options, OptionNumber.Block2);
    const b1 = b1raw === undefined ? undefined : decodeBlock(b1raw);
    const b2 = b2raw === undefined ? undefined : decodeBlock(b2raw);
    if ((b1raw !== undefined && b1 === undefined) || (b2raw !== undefined && b2 === undefined)) {
      this.#respond(msg.token, { code: '4.00' }); // A Block value longer than 3 bytes (RFC 7959 §2.2), as over UDP.
      return;
    }
    if (b1raw !== undefined && b1 !== undefined) {
      if (b1.szx === 7) {
        this.#respond(msg.token, { code: '4.13' }); // BERT not implemented; the client retries with smaller blocks.
        return;
      }
      let st = this.#block1.get(key);
      if (b1.num === 0) {
        if (st) clearTimeout(st.timer);
        else if (this.#block1.size >= this.#maxBlock1) {
          this.#respond(msg.token, { code: '5.03' });
          return;
        }
        st = { chunks: [], size: 0, next: 0, timer: setTimeout(() => this.#block1.delete(key), this.#blockCacheMs) };
        st.timer.unref();
        this.#block1.set(key, st);
      }
      if (st === undefined || b1.num !== st.next) {
        this.#respond(msg.token, { code: '4.08' });
        return;
      }
      st.size += msg.payload.length;
      if (st.size > this.#maxBodySize) {
        clearTimeout(st.timer);
        this.#block1.delete(key);
        this.#respond(msg.token, { code: '4.13', options: [{ number: OptionNumber.Size1, value: encodeUint(this.#maxBodySize) }] });
        return;
      }
      st.chunks.push(msg.payload);
      st.next++;
      if (b1.more) {
        this.#respond(msg.token, { code: '2.31', options: [{ number: OptionNumber.Block1, value: b1raw }] });
        return;
      }
      clearTimeout(st.timer);
      this.#block1.delete(key);
      payload = Buffer.concat(st.chunks);
    }
    if (b2 !== undefined && b2.num > 0) {
      const cached = this.#block2.get(key);
      if (cached === undefined) {
        this.#respond(msg.token, { code: '4.08' });
        return;
      }
      this.#respond(msg.token, cached.response, { payload: cached.payload, szx: Math.min(b2.szx, 6), num: b2.num, cacheKey: key });
      return;
    }
    const cf = getUintOption(msg.options, OptionNumber.ContentFormat);
    const accept = getUintOption(msg.options, OptionNumber.Accept);
    const observe = getUintOption(msg.options, OptionNumber.Observe);
    const request: IncomingRequest = {
      peer: this.#remote, method, path, query, token: msg.token, confirmable: true,
      ...(cf === undefined ? {} : { contentFormat: cf }),
      ...(accept === undefined ? {} : { accept }),
      ...(observe === undefined ? {} : { observe }),
      payload, options: raw(msg),
    };
    let response: OutgoingResponse;
    try {
      response = this.#handler ? await this.#handler(request) : { code: '4.04' };
    } catch {
      response = { code: '5.00' };
    }
    if (this.#closed) return;
    const body = response.payload ?? EMPTY;
    const szx = b2 !== undefined ? Math.min(b2.szx, 6) : undefined;
    this.#respond(msg.token, response, { payload: body, szx, num: 0, cacheKey: key });
  }

  /** Writes a response, splitting it into Block2 blocks when it does not fit the peer or the requested block size. */
  #respond(token: Uint8Array, response: OutgoingResponse, block?: { payload: Uint8Array; szx: number | undefined; num: number; cacheKey: string }): void {
    this.#write(this.#responseMessage(token, response, block?.szx, block?.cacheKey ?? '', block?.num ?? 0, block?.payload));
  }

  #responseMessage(token: Uint8Array, response: OutgoingResponse, askedSzx: number | undefined, cacheKey: string, num = 0, body = response.payload ?? EMPTY): StreamMessage {
    const options: RawOption[] = [
      ...uintOptions(OptionNumber.Observe, response.observe),
      ...stringOptions(OptionNumber.LocationPath, response.locationPath ?? []),
      ...uintOptions(OptionNumber.ContentFormat, response.contentFormat),
      ...(response.options ?? []),
    ];
    const code = codeFromString(response.code);
    const fits = frameOverhead(bodyLength(options, body), token.length) + bodyLength(options, body) <= this.#peer.maxMessageSize;
    if (askedSzx === undefined && fits) return { code, token, options, payload: body };
    if (askedSzx !== undefined && body.length <= blockSizeOf(askedSzx) && num === 0 && fits) {
      return { code, token, options, payload: body };
    }
    const szx = Math.min(askedSzx ?? 6, this.#blockSzxFor(options));
    const size = blockSizeOf(szx);
    // A block number past the end is a client error (RFC 7959 §2.2).
    if (num * size >= body.length && num > 0) return { code: codeFromString('4.02'), token, options: [], payload: EMPTY };
    const more = (num + 1) * size < body.length;
    if (cacheKey !== '' && num === 0 && more) {
      const old = this.#block2.get(cacheKey);
      if (old) {
        clearTimeout(old.timer);
        this.#block2.delete(cacheKey);
      } else if (this.#block2.size >= this.#maxBlock2) {
        // Maps iterate in insertion order: the first key is the oldest entry.
        const oldest = this.#block2.keys().next().value;
        if (oldest !== undefined) {
          clearTimeout(this.#block2.get(oldest)!.timer);
          this.#block2.delete(oldest);
        }
      }
      const timer = setTimeout(() => this.#block2.delete(cacheKey), this.#blockCacheMs);
      timer.unref();
      this.#block2.set(cacheKey, { response, payload: body, timer });
    }
    // Observe belongs on the first block only; follow-up blocks are plain responses.
    const blockOptions = num === 0 ? options : options.filter((o) => o.number !== OptionNumber.Observe);
    return {
      code, token,
      options: [
        ...blockOptions,
        { number: OptionNumber.Block2, value: encodeBlock({ num, more, szx }) },
        ...(num === 0 ? [{ number: OptionNumber.Size2, value: encodeUint(body.length) }] : []),
      ],
      payload: body.subarray(num * size, (num + 1) * size),
    };
  }

  #teardown(err: TransportError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    if (err !== undefined) this.#closeError = err;
    // Outstanding requests fail as on any other transport (CoapClosedError); the cause goes to onClose listeners.
    const failure = new CoapClosedError(`the connection was closed${err ? ` (${err.failure})` : ''}`, this.#remote);
    for (const p of [...this.#pending.values(), ...this.#pings.values()]) {
      clearTimeout(p.timer);
      p.reject(failure);
    }
    this.#pending.clear();
    this.#pings.clear();
    for (const s of this.#block1.values()) clearTimeout(s.timer);
    for (const s of this.#block2.values()) clearTimeout(s.timer);
    this.#block1.clear();
    this.#block2.clear();
    this.#csmWaiter?.reject(err ?? failure);
    this.#csmWaiter = undefined;
    for (const l of this.#closeListeners.splice(0)) l(err);
  }
}
