// The CoAP message layer over any datagram transport (RFC 7252, 7641, 7959): reliability, deduplication,
// piggybacked and separate responses, notifications and block-wise transfers, behind the CoapEndpoint face.
import net from 'node:net';
import { Lwm2mError } from '../errors.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  CoapBlockwiseError,
  CoapClosedError,
  CoapMessageError,
  CoapResetError,
  CoapTimeoutError,
} from './errors.js';
import {
  OptionNumber as O,
  blockSizeOf,
  codeOfMethod,
  decodeBlock,
  decodeMessage,
  emptyMessage,
  encodeBlock,
  encodeMessage,
  encodeUint,
  getOption,
  getStringOptions,
  getUintOption,
  isCritical,
  methodOfCode,
  stringOptions,
  szxOf,
  type BlockOption,
  type CoapMessage,
  type MessageType,
} from './message.js';
import type {
  Block1Selector,
  Block1Sink,
  CoapEndpoint,
  CoapMethod,
  DatagramTransport,
  IncomingRequest,
  IncomingResponse,
  NotificationOutcome,
  OutgoingRequest,
  OutgoingResponse,
  Peer,
  RawOption,
  RequestHandler,
  ResponseCode,
} from './types.js';

/** Per-endpoint settings; times in milliseconds. Transmission defaults are RFC 7252 §4.8. */
export interface CoapEndpointOptions {
  /** ACK_TIMEOUT, 2000. */
  readonly ackTimeout?: number;
  /** ACK_RANDOM_FACTOR, 1.5. */
  readonly ackRandomFactor?: number;
  /** MAX_RETRANSMIT, 4. */
  readonly maxRetransmit?: number;
  /** MAX_LATENCY, 100000. */
  readonly maxLatency?: number;
  /** PROCESSING_DELAY, defaults to ackTimeout. */
  readonly processingDelay?: number;
  /** How long after an empty ACK a separate response is awaited; default EXCHANGE_LIFETIME. */
  readonly separateResponseTimeout?: number;
  /** How long a handler may take before the request gets an empty ACK and a separate response; 1000. */
  readonly separateResponseDelay?: number;
  /** Preferred block size for Block1/Block2 (16..1024, power of two); 1024. */
  readonly blockSize?: number;
  /** Largest body reassembled from blocks, in either direction; 1 MiB. Larger Block1 uploads get 4.13. */
  readonly maxBodySize?: number;
  /** Concurrent incoming Block1 transfers; 8. A new transfer beyond that gets 5.03. */
  readonly maxBlock1Transfers?: number;
  /** An incoming Block1 transfer with no block for this long is dropped (its next block gets 4.08); EXCHANGE_LIFETIME. */
  readonly blockTransferTimeout?: number;
  /** Bound of the duplicate-detection cache; 4096 entries. */
  readonly maxDedupEntries?: number;
  /** Bound of the cache of large responses served block by block; 32 entries. */
  readonly maxBlock2Entries?: number;
  /** Length of the tokens this side generates, 1..8; 8. */
  readonly tokenLength?: number;
  /**
   * Requests this side may have outstanding per peer (NSTART, RFC 7252 §4.7); more wait their turn.
   * Unlimited by default; 1 is the RFC's default. Block-wise transfers count one block exchange at a time.
   */
  readonly nstart?: number;
  /** Critical options (odd numbers) the handler understands beyond the ones the layer does; others get 4.02. */
  readonly knownOptions?: readonly number[];
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for ACK timeouts; Math.random by default. */
  readonly random?: () => number;
  /** Called with errors the layer swallows to keep running: handler failures, send failures. */
  readonly onError?: (error: unknown) => void;
  /** Called when a peer answers a NON notification with RST, i.e. cancels that observation (RFC 7641 §3.6). */
  readonly onNotificationReset?: (peer: Peer, token: Uint8Array) => void;
}

/** The transmission parameters in force, base and derived (RFC 7252 §4.8.2). */
export interface TransmissionParameters {
  readonly ackTimeout: number;
  readonly ackRandomFactor: number;
  readonly maxRetransmit: number;
  readonly maxLatency: number;
  readonly processingDelay: number;
  readonly maxTransmitSpan: number;
  readonly maxTransmitWait: number;
  readonly exchangeLifetime: number;
  readonly nonLifetime: number;
}

export function transmissionParameters(options: CoapEndpointOptions = {}): TransmissionParameters {
  const ackTimeout = options.ackTimeout ?? 2000;
  const ackRandomFactor = options.ackRandomFactor ?? 1.5;
  const maxRetransmit = options.maxRetransmit ?? 4;
  const maxLatency = options.maxLatency ?? 100_000;
  const processingDelay = options.processingDelay ?? ackTimeout;
  const maxTransmitSpan = ackTimeout * (2 ** maxRetransmit - 1) * ackRandomFactor;
  const maxTransmitWait = ackTimeout * (2 ** (maxRetransmit + 1) - 1) * ackRandomFactor;
  return {
    ackTimeout,
    ackRandomFactor,
    maxRetransmit,
    maxLatency,
    processingDelay,
    maxTransmitSpan,
    maxTransmitWait,
    exchangeLifetime: maxTransmitSpan + 2 * maxLatency + processingDelay,
    nonLifetime: maxTransmitSpan + maxLatency,
  };
}

/** Critical options the layer itself handles or safely ignores (Uri-Host/Uri-Port name this endpoint). */
const LAYER_OPTIONS: readonly number[] = [
  O.IfMatch, O.UriHost, O.IfNoneMatch, O.UriPort, O.UriPath, O.UriQuery, O.Accept, O.Block2, O.Block1,
];
/** Options that become fields of IncomingRequest/IncomingResponse rather than RawOptions. */
const INTERPRETED = new Set<number>([
  O.UriPath, O.UriQuery, O.ContentFormat, O.Accept, O.Observe, O.LocationPath, O.Block1, O.Block2, O.Size1, O.Size2,
]);

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** A response as it goes on the wire, before message type, id and token. */
interface Reply {
  readonly code: string;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

interface Transmission {
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

interface PendingExchange {
  readonly peer: Peer;
  readonly token: Uint8Array;
  transmission: Transmission | undefined;
  timer: TimerHandle | undefined;
  resolve(message: CoapMessage): void;
  reject(error: Error): void;
}

interface DedupEntry {
  readonly expires: number;
  /** What was answered (ACK, RST or piggybacked response); replayed for a duplicate CON. */
  reply: Uint8Array | undefined;
}

interface Block1Transfer {
  buffer: Uint8Array;
  received: number;
  expires: number;
}

interface StreamedBlock1 {
  readonly sink: Block1Sink;
  received: number;
  expires: number;
}

interface Block2Entry {
  readonly reply: Reply;
  readonly expires: number;
}

interface NonNotification {
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly expires: number;
}

function peerKey(peer: Peer): string {
  return `${peer.address}|${peer.port}`;
}
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The options the handler sees: those this layer does not interpret (one loop, no closure). */
function uninterpreted(options: readonly RawOption[]): RawOption[] {
  const out: RawOption[] = [];
  for (const o of options) if (!INTERPRETED.has(o.number)) out.push(o);
  return out;
}

function isResponseCode(code: string): code is ResponseCode {
  // Character tests, not a regex: this runs for every response.
  if (code.length !== 4 || code.charCodeAt(1) !== 46) return false;
  const cls = code.charCodeAt(0);
  const d1 = code.charCodeAt(2) - 48;
  const d0 = code.charCodeAt(3) - 48;
  return (cls === 50 || cls === 52 || cls === 53) && d1 >= 0 && d1 <= 3 && d0 >= 0 && d0 <= 9 && d1 * 10 + d0 <= 31;
}
function codeClass(code: string): number {
  return Number(code.slice(0, code.indexOf('.')));
}
/** Keeps a map of bounded size: drops expired entries from the oldest end, then the oldest if still full. */
function makeRoom<V extends { expires: number }>(map: Map<string | number, V>, max: number, now: number): void {
  for (const [key, value] of map) {
    if (value.expires > now && map.size < max) break;
    if (value.expires <= now || map.size >= max) map.delete(key);
  }
}

class Endpoint implements CoapEndpoint {
  private readonly params: TransmissionParameters;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly szx: number;
  private readonly maxBodySize: number;
  private readonly maxBlock1Transfers: number;
  private readonly blockTransferTimeout: number;
  private readonly maxDedupEntries: number;
  private readonly maxBlock2Entries: number;
  private readonly tokenLength: number;
  private readonly separateResponseDelay: number;
  private readonly separateResponseTimeout: number;
  private readonly knownCritical: ReadonlySet<number>;
  private readonly nstart: number;
  private readonly slots = new Map<string, { active: number; waiters: Array<{ go(): void; fail(e: Error): void }> }>();

  private handler: RequestHandler | undefined;
  private nextMessageId: number;
  private observeSequence = 0;
  private closed = false;
  private readonly transmissions = new Map<number, Transmission>();
  private readonly pending = new Map<string, PendingExchange>();
  private readonly dedup = new Map<string, DedupEntry>();
  private readonly block1 = new Map<string, Block1Transfer>();
  /** Block1 uploads going block by block to a sink (streamBlock1), keyed like block1. */
  private readonly streams = new Map<string, StreamedBlock1>();
  private block1Selector: Block1Selector | undefined;
  private readonly block2 = new Map<string, Block2Entry>();
  /** Observation token (peer|token) → Block2 cache key of the observed resource, so large notifications can be fetched. */
  private readonly observations = new Map<string, { key: string; expires: number }>();
  private readonly nonNotifications = new Map<number, NonNotification>();
  /** The CON notification in flight per observation (peer|token), to be replaced by a newer one. */
  private readonly conNotifications = new Map<string, { transmission: Transmission; resolve(o: NotificationOutcome): void }>();

  constructor(
    private readonly transport: DatagramTransport,
    private readonly options: CoapEndpointOptions,
  ) {
    this.params = transmissionParameters(options);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.szx = szxOf(options.blockSize ?? 1024);
    this.maxBodySize = options.maxBodySize ?? 1 << 20;
    this.maxBlock1Transfers = options.maxBlock1Transfers ?? 8;
    this.blockTransferTimeout = options.blockTransferTimeout ?? this.params.exchangeLifetime;
    this.maxDedupEntries = options.maxDedupEntries ?? 4096;
    this.maxBlock2Entries = options.maxBlock2Entries ?? 32;
    this.tokenLength = options.tokenLength ?? 8;
    this.nstart = options.nstart ?? Infinity;
    if (!(this.nstart >= 1)) throw new RangeError(`nstart must be at least 1, got ${this.nstart}`);
    if (!Number.isInteger(this.tokenLength) || this.tokenLength < 1 || this.tokenLength > 8) {
      throw new RangeError(`tokenLength must be 1..8, got ${this.tokenLength}`);
    }
    this.separateResponseDelay = options.separateResponseDelay ?? 1000;
    this.separateResponseTimeout = options.separateResponseTimeout ?? this.params.exchangeLifetime;
    this.knownCritical = new Set([...LAYER_OPTIONS, ...(options.knownOptions ?? [])]);
    this.nextMessageId = Math.floor(Math.random() * 0x10000);
    transport.onMessage((data, peer) => this.receive(data, peer));
  }

  /** The transmission parameters in force. */
  get parameters(): TransmissionParameters {
    return this.params;
  }

  address(): Peer {
    return this.transport.address();
  }

  serve(handler: RequestHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.transmissions.values()) this.clock.clearTimeout(t.timer);
    const transmissions = [...this.transmissions.values()];
    this.transmissions.clear();
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.reject(new CoapClosedError('endpoint closed', p.peer));
    }
    this.pending.clear();
    for (const slot of this.slots.values()) for (const w of slot.waiters.splice(0)) w.fail(new CoapClosedError('endpoint closed'));
    // Notifications still waiting for an ACK end as 'timeout': nobody will acknowledge them now.
    for (const t of transmissions) t.onTimeout(t.sent);
    await this.transport.close();
  }

  // ---- sending ----

  private allocateMessageId(): number {
    for (let i = 0; i < 0x10000; i++) {
      const id = this.nextMessageId;
      this.nextMessageId = (this.nextMessageId + 1) & 0xffff;
      if (!this.transmissions.has(id)) return id;
    }
    throw new CoapMessageError('no free message id: 65536 confirmable messages outstanding');
  }

  private allocateToken(): Uint8Array {
    for (;;) {
      const token = new Uint8Array(this.tokenLength);
      crypto.getRandomValues(token);
      if (!this.pending.has(hex(token))) return token;
    }
  }

  private send(data: Uint8Array, peer: Peer): void {
    if (this.closed) return;
    try {
      const r = this.transport.send(data, peer);
      if (r) r.catch((err: unknown) => this.reportError(err));
    } catch (err) {
      this.reportError(err);
    }
  }

  private reportError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // An error hook that throws must not take the endpoint down.
    }
  }

  /** Sends a CON and retransmits it with exponential backoff until acknowledged, reset or given up. */
  private sendConfirmable(
    peer: Peer,
    messageId: number,
    data: Uint8Array,
    handlers: Pick<Transmission, 'onAck' | 'onReset' | 'onTimeout'>,
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
      if (this.transmissions.get(messageId) !== t) return;
      if (t.sent - 1 < this.params.maxRetransmit) {
        t.sent++;
        t.timeout *= 2;
        t.dueAt = this.clock.now() + t.timeout;
        t.timer = this.clock.setTimeout(fire, t.timeout);
        this.send(data, peer);
      } else {
        this.transmissions.delete(messageId);
        t.onTimeout(t.sent);
      }
    };
    this.transmissions.set(messageId, t);
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

  private stopTransmission(t: Transmission): void {
    this.clock.clearTimeout(t.timer);
    if (this.transmissions.get(t.messageId) === t) this.transmissions.delete(t.messageId);
  }

  /** One request message out, its response (piggybacked or separate) back. */
  private async exchange(
    peer: Peer,
    type: 'CON' | 'NON',
    code: string,
    options: readonly RawOption[],
    payload: Uint8Array,
    reuseToken?: Uint8Array,
  ): Promise<CoapMessage> {
    if (this.nstart === Infinity) return this.exchangeNow(peer, type, code, options, payload, reuseToken);
    const key = peerKey(peer);
    await this.acquireSlot(key, peer);
    try {
      return await this.exchangeNow(peer, type, code, options, payload, reuseToken);
    } finally {
      this.releaseSlot(key);
    }
  }

  private acquireSlot(key: string, peer: Peer): Promise<void> {
    if (this.closed) return Promise.reject(new CoapClosedError('endpoint closed', peer));
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { active: 0, waiters: [] }));
    if (slot.active < this.nstart) {
      slot.active++;
      return Promise.resolve();
    }
    const s = slot;
    return new Promise<void>((go, fail) => s.waiters.push({ go: () => (s.active++, go()), fail }));
  }

  private releaseSlot(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.active--;
    const next = slot.waiters.shift();
    if (next) next.go();
    else if (slot.active === 0) this.slots.delete(key);
  }

  private exchangeNow(
    peer: Peer,
    type: 'CON' | 'NON',
    code: string,
    options: readonly RawOption[],
    payload: Uint8Array,
    reuseToken?: Uint8Array,
  ): Promise<CoapMessage> {
    if (this.closed) return Promise.reject(new CoapClosedError('endpoint closed', peer));
    return new Promise<CoapMessage>((resolve, reject) => {
      const token = reuseToken && !this.pending.has(hex(reuseToken)) ? reuseToken : this.allocateToken();
      const key = hex(token);
      const messageId = this.allocateMessageId();
      let data: Uint8Array;
      try {
        data = encodeMessage({ type, code, messageId, token, options, payload });
      } catch (err) {
        reject(new CoapMessageError(`cannot encode request: ${(err as Error).message}`, peer));
        return;
      }
      const p: PendingExchange = {
        peer,
        token,
        transmission: undefined,
        timer: undefined,
        resolve: (m) => {
          this.finishPending(key, p);
          resolve(m);
        },
        reject: (e) => {
          this.finishPending(key, p);
          reject(e);
        },
      };
      this.pending.set(key, p);
      if (type === 'CON') {
        p.transmission = this.sendConfirmable(peer, messageId, data, {
          onAck: (m) => {
            p.transmission = undefined;
            if (m.code !== '0.00' && bytesEqual(m.token, token)) {
              p.resolve(m);
              return;
            }
            // Empty ACK (or one whose token is not ours): the response comes separately (RFC 7252 §5.2.2).
            p.timer = this.clock.setTimeout(
              () => p.reject(new CoapTimeoutError('no separate response after the empty ACK', peer, 1)),
              this.separateResponseTimeout,
            );
          },
          onReset: () => p.reject(new CoapResetError('request refused with RST', peer)),
          onTimeout: (sent) => p.reject(new CoapTimeoutError(`no ACK after ${sent} transmissions`, peer, sent)),
        });
      } else {
        p.timer = this.clock.setTimeout(
          () => p.reject(new CoapTimeoutError('no response to NON request', peer, 1)),
          this.params.maxTransmitWait,
        );
        this.send(data, peer);
      }
    });
  }

  private finishPending(key: string, p: PendingExchange): void {
    if (this.pending.get(key) === p) this.pending.delete(key);
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    p.timer = undefined;
    if (p.transmission) this.stopTransmission(p.transmission);
    p.transmission = undefined;
  }

  async request(peer: Peer, request: OutgoingRequest): Promise<IncomingResponse> {
    const code = codeOfMethod(request.method);
    if (code === undefined) throw new CoapMessageError(`unknown method ${String(request.method)}`, peer);
    const type = request.confirmable === false ? 'NON' : 'CON';
    const base: RawOption[] = [
      ...stringOptions(O.UriPath, request.path ?? []),
      ...stringOptions(O.UriQuery, request.query ?? []),
      ...(request.contentFormat !== undefined ? [{ number: O.ContentFormat, value: encodeUint(request.contentFormat) }] : []),
      ...(request.accept !== undefined ? [{ number: O.Accept, value: encodeUint(request.accept) }] : []),
      ...(request.options ?? []),
    ];
    const observe: RawOption[] = request.observe !== undefined ? [{ number: O.Observe, value: encodeUint(request.observe) }] : [];
    const payload = request.payload ?? EMPTY;

    let response: CoapMessage;
    if (payload.length > blockSizeOf(this.szx)) {
      response = await this.sendBlock1(peer, type, code, [...base, ...observe], payload);
    } else {
      response = await this.exchange(peer, type, code, [...base, ...observe], payload);
    }

    let body = response.payload;
    const b2raw = getOption(response.options, O.Block2);
    const b2 = b2raw ? decodeBlock(b2raw) : undefined;
    // A caller that sets Block2 itself asked for one particular block and gets just that.
    const callerBlock2 = (request.options ?? []).some((o) => o.number === O.Block2);
    if (b2 && b2.more && codeClass(response.code) === 2 && !callerBlock2) {
      body = await this.fetchBlock2(peer, type, code, base, request.method === 'FETCH' ? payload : EMPTY, response, b2);
    }
    return this.toIncomingResponse(peer, response, body, callerBlock2);
  }

  /** Sends a large request body block by block, following the server's block size if it asks for smaller blocks. */
  private async sendBlock1(peer: Peer, type: 'CON' | 'NON', code: string, options: readonly RawOption[], payload: Uint8Array): Promise<CoapMessage> {
    let szx = this.szx;
    let offset = 0;
    // One token for the whole transfer: RFC 7959 allows either, and servers that key Block1 by token (node-coap) need it.
    let token: Uint8Array | undefined;
    for (;;) {
      const size = blockSizeOf(szx);
      const num = offset / size;
      const chunk = payload.subarray(offset, offset + size);
      const more = offset + chunk.length < payload.length;
      const blockOptions: RawOption[] = [{ number: O.Block1, value: encodeBlock({ num, more, szx }) }];
      if (num === 0) blockOptions.push({ number: O.Size1, value: encodeUint(payload.length) });
      const response = await this.exchange(peer, type, code, [...options, ...blockOptions], chunk, token);
      token = response.token;
      if (!more || response.code !== '2.31') return response;
      const ack = getOption(response.options, O.Block1);
      const b1 = ack ? decodeBlock(ack) : undefined;
      offset += chunk.length;
      if (b1 && b1.szx < szx && b1.szx < 7) szx = b1.szx;
    }
  }

  /** Fetches the remaining blocks of a Block2 response; later blocks never carry Observe (RFC 7959 §2.6 / RFC 7641). */
  private async fetchBlock2(
    peer: Peer,
    type: 'CON' | 'NON',
    code: string,
    base: readonly RawOption[],
    payload: Uint8Array,
    first: CoapMessage,
    firstBlock: BlockOption,
  ): Promise<Uint8Array> {
    const parts: Uint8Array[] = [first.payload];
    let total = first.payload.length;
    let block = firstBlock;
    const etag = getOption(first.options, O.ETag);
    if (block.num !== 0) throw new CoapBlockwiseError(`first Block2 response is block ${block.num}, not 0`, peer);
    while (block.more) {
      const szx = block.szx;
      const size = blockSizeOf(szx);
      if (total % size !== 0) throw new CoapBlockwiseError('Block2 block of unexpected size', peer);
      const num = total / size;
      const response = await this.exchange(peer, type, code, [...base, { number: O.Block2, value: encodeBlock({ num, more: false, szx }) }], payload, first.token);
      if (codeClass(response.code) !== 2) throw new CoapBlockwiseError(`block ${num} answered ${response.code}`, peer);
      const raw = getOption(response.options, O.Block2);
      const got = raw ? decodeBlock(raw) : undefined;
      if (!got || got.szx === 7 || got.num * blockSizeOf(got.szx) !== total) {
        throw new CoapBlockwiseError(`asked for block ${num}, got ${got ? got.num : 'no Block2'}`, peer);
      }
      const tag = getOption(response.options, O.ETag);
      if (etag && (!tag || !bytesEqual(tag, etag))) throw new CoapBlockwiseError('representation changed during Block2 transfer (ETag)', peer);
      total += response.payload.length;
      if (total > this.maxBodySize) throw new CoapBlockwiseError(`Block2 body exceeds ${this.maxBodySize} bytes`, peer);
      parts.push(response.payload);
      block = got;
    }
    return Buffer.concat(parts);
  }

  /** `keepBlock2`: a caller that asked for one block itself needs the Block2 and Size2 of the answer to go on. */
  private toIncomingResponse(peer: Peer, m: CoapMessage, body: Uint8Array, keepBlock2 = false): IncomingResponse {
    const contentFormat = getUintOption(m.options, O.ContentFormat);
    const observe = getUintOption(m.options, O.Observe);
    return {
      peer,
      code: m.code as ResponseCode,
      token: m.token,
      ...(contentFormat !== undefined ? { contentFormat } : {}),
      ...(observe !== undefined ? { observe } : {}),
      locationPath: getStringOptions(m.options, O.LocationPath),
      payload: body,
      options: m.options.filter((o) => !INTERPRETED.has(o.number) || (keepBlock2 && (o.number === O.Block2 || o.number === O.Size2))),
    };
  }

  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome> {
    if (this.closed) return Promise.reject(new CoapClosedError('endpoint closed', peer));
    if (token.length > 8) return Promise.reject(new CoapMessageError('token longer than 8 bytes', peer));
    this.observeSequence = (this.observeSequence + 1) & 0xffffff;
    const observe = response.observe ?? this.observeSequence;
    let reply = this.replyOf({ ...response, observe });
    const obs = this.observations.get(`${peerKey(peer)}|${hex(token)}`);
    if (reply.payload.length > blockSizeOf(this.szx) && obs) {
      // The observer fetches the rest with GETs on the observed resource, served from the Block2 cache.
      reply = this.firstBlock(obs.key, reply, this.szx);
    }
    const messageId = this.allocateMessageId();
    let data: Uint8Array;
    try {
      data = encodeMessage({ type: confirmable ? 'CON' : 'NON', code: reply.code, messageId, token, options: reply.options, payload: reply.payload });
    } catch (err) {
      return Promise.reject(new CoapMessageError(`cannot encode notification: ${(err as Error).message}`, peer));
    }
    if (!confirmable) {
      makeRoom(this.nonNotifications, 256, this.clock.now());
      this.nonNotifications.set(messageId, { peer, token, expires: this.clock.now() + this.params.nonLifetime });
      this.send(data, peer);
      return Promise.resolve('sent');
    }
    // RFC 7641 §4.5.2: a newer CON notification replaces one still in flight for the same observation and
    // carries on its retransmission count and timeout; the replaced one ends as the newer one does.
    const okey = `${peerKey(peer)}|${hex(token)}`;
    let previous = this.conNotifications.get(okey);
    if (previous && this.transmissions.get(previous.transmission.messageId) === previous.transmission) {
      this.stopTransmission(previous.transmission);
    } else {
      previous = undefined;
    }
    return new Promise<NotificationOutcome>((resolve) => {
      const done = (outcome: NotificationOutcome): void => {
        if (this.conNotifications.get(okey) === entry) this.conNotifications.delete(okey);
        resolve(outcome);
        previous?.resolve(outcome);
      };
      const entry: { transmission: Transmission; resolve(o: NotificationOutcome): void } = {
        transmission: this.sendConfirmable(
          peer,
          messageId,
          data,
          { onAck: () => done('acked'), onReset: () => done('reset'), onTimeout: () => done('timeout') },
          previous?.transmission,
        ),
        resolve: done,
      };
      this.conNotifications.set(okey, entry);
    });
  }

  // ---- receiving ----

  private receive(data: Uint8Array, peer: Peer): void {
    if (this.closed) return;
    try {
      const m = decodeMessage(data);
      if (m) this.dispatch(m, peer);
    } catch (err) {
      this.reportError(err);
    }
  }

  private dispatch(m: CoapMessage, peer: Peer): void {
    const cls = codeClass(m.code);
    if (m.code === '0.00') {
      if (m.type === 'CON') this.send(emptyMessage('RST', m.messageId), peer); // CoAP ping
      else if (m.type === 'ACK') this.onAck(m, peer);
      else if (m.type === 'RST') this.onReset(m, peer);
      return;
    }
    if (m.type === 'RST') return; // a RST must be empty
    if (m.type === 'ACK') {
      if (cls >= 2) this.onAck(m, peer);
      return;
    }
    // CON or NON, request or response: duplicates are answered from the cache, not processed again.
    const now = this.clock.now();
    const dkey = `${peerKey(peer)}#${m.messageId}`;
    const seen = this.dedup.get(dkey);
    if (seen && seen.expires > now) {
      if (m.type === 'CON' && seen.reply) this.send(seen.reply, peer);
      return;
    }
    if (seen) this.dedup.delete(dkey);
    makeRoom(this.dedup, this.maxDedupEntries, now);
    const entry: DedupEntry = {
      expires: now + (m.type === 'CON' ? this.params.exchangeLifetime : this.params.nonLifetime),
      reply: undefined,
    };
    this.dedup.set(dkey, entry);
    if (cls === 0) void this.serveRequest(m, peer, entry);
    else this.onResponse(m, peer, entry);
  }

  private samePeer(expected: Peer, actual: Peer): boolean {
    if (expected.port !== actual.port) return false;
    // A peer given by host name answers from its numeric address; then only the port can be checked. A dual-stack
    // socket reports IPv4 peers as IPv4-mapped IPv6 addresses.
    const unmap = (a: string): string => (a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a).toLowerCase();
    return unmap(expected.address) === unmap(actual.address) || net.isIP(expected.address) === 0;
  }

  private onAck(m: CoapMessage, peer: Peer): void {
    const t = this.transmissions.get(m.messageId);
    if (!t || !this.samePeer(t.peer, peer)) return;
    this.stopTransmission(t);
    t.onAck(m);
  }

  private onReset(m: CoapMessage, peer: Peer): void {
    const t = this.transmissions.get(m.messageId);
    if (t && this.samePeer(t.peer, peer)) {
      this.stopTransmission(t);
      t.onReset();
      return;
    }
    const n = this.nonNotifications.get(m.messageId);
    if (n && this.samePeer(n.peer, peer)) {
      this.nonNotifications.delete(m.messageId);
      try {
        this.options.onNotificationReset?.(n.peer, n.token);
      } catch (err) {
        this.reportError(err);
      }
    }
  }

  /** A separate response (CON or NON) to one of our requests. */
  private onResponse(m: CoapMessage, peer: Peer, entry: DedupEntry): void {
    const p = this.pending.get(hex(m.token));
    if (!p || !this.samePeer(p.peer, peer)) {
      // No request of ours is waiting for this: tell the sender to stop (also cancels stray notifications).
      const rst = emptyMessage('RST', m.messageId);
      entry.reply = rst;
      this.send(rst, peer);
      return;
    }
    if (m.type === 'CON') {
      const ack = emptyMessage('ACK', m.messageId);
      entry.reply = ack;
      this.send(ack, peer);
    }
    p.resolve(m);
  }

  private async serveRequest(m: CoapMessage, peer: Peer, entry: DedupEntry): Promise<void> {
    let separate = false;
    let timer: TimerHandle | undefined;
    if (m.type === 'CON') {
      timer = this.clock.setTimeout(() => {
        timer = undefined;
        separate = true;
        const ack = emptyMessage('ACK', m.messageId);
        entry.reply = ack;
        this.send(ack, peer);
      }, this.separateResponseDelay);
    }
    let reply: Reply;
    try {
      reply = await this.processRequest(m, peer);
    } catch (err) {
      this.reportError(err);
      reply = { code: '5.00', options: [], payload: EMPTY };
    }
    if (timer !== undefined) this.clock.clearTimeout(timer);
    if (this.closed) return;
    const encode = (type: MessageType, messageId: number): Uint8Array | undefined => {
      try {
        return encodeMessage({ type, code: reply.code, messageId, token: m.token, options: reply.options, payload: reply.payload });
      } catch (err) {
        this.reportError(new CoapMessageError(`cannot encode response: ${(err as Error).message}`, peer));
        try {
          return encodeMessage({ type, code: '5.00', messageId, token: m.token, options: [], payload: EMPTY });
        } catch {
          return undefined;
        }
      }
    };
    if (m.type === 'CON' && !separate) {
      const data = encode('ACK', m.messageId);
      if (!data) return;
      entry.reply = data;
      this.send(data, peer);
    } else if (m.type === 'CON') {
      const messageId = this.allocateMessageId();
      const data = encode('CON', messageId);
      if (!data) return;
      this.sendConfirmable(peer, messageId, data, {
        onAck: () => undefined,
        onReset: () => undefined,
        onTimeout: (sent) => this.closed || this.reportError(new CoapTimeoutError(`separate response not acknowledged after ${sent} transmissions`, peer, sent)),
      });
    } else {
      const data = encode('NON', this.allocateMessageId());
      if (data) this.send(data, peer);
    }
  }

  private async processRequest(m: CoapMessage, peer: Peer): Promise<Reply> {
    const method = methodOfCode(m.code) as CoapMethod | undefined;
    if (method === undefined) return diagnostic('4.05', `method code ${m.code} not supported`);
    for (const o of m.options) {
      if (isCritical(o.number) && !this.knownCritical.has(o.number)) return diagnostic('4.02', `unrecognized critical option ${o.number}`);
    }
    const path = getStringOptions(m.options, O.UriPath);
    const query = getStringOptions(m.options, O.UriQuery);
    const contentFormat = getUintOption(m.options, O.ContentFormat);
    const accept = getUintOption(m.options, O.Accept);
    const observe = getUintOption(m.options, O.Observe);
    const b1raw = getOption(m.options, O.Block1);
    const b2raw = getOption(m.options, O.Block2);
    const block1 = b1raw ? decodeBlock(b1raw) : undefined;
    const block2 = b2raw ? decodeBlock(b2raw) : undefined;
    if ((b1raw && (!block1 || block1.szx === 7)) || (b2raw && (!block2 || block2.szx === 7))) {
      return diagnostic('4.00', 'invalid Block option');
    }

    let payload = m.payload;
    let streamed: number | undefined;
    const extra: RawOption[] = [];
    if (!block1 && payload.length > this.maxBodySize) return this.tooLarge();
    const stream = block1 && (this.block1Selector || this.streams.size > 0)
      ? await this.receiveStreamedBlock1(peer, method, path, query, contentFormat, block1, m)
      : undefined;
    if (stream && block1) {
      if ('code' in stream) return stream;
      payload = EMPTY;
      streamed = stream.length;
      extra.push({ number: O.Block1, value: encodeBlock({ num: block1.num, more: false, szx: block1.szx }) });
    } else if (block1) {
      const r = this.receiveBlock1(peer, method, path, query, block1, m);
      if ('code' in r) return r;
      payload = r.body;
      extra.push({ number: O.Block1, value: encodeBlock({ num: block1.num, more: false, szx: block1.szx }) });
    }

    // Built only when a block-wise response is in play: most requests never need it.
    const b2key = (): string => JSON.stringify([peerKey(peer), method, path, query, accept ?? null, method === 'FETCH' ? hex(payload) : '']);
    const szx = Math.min(this.szx, block2 ? block2.szx : this.szx);
    if (block2 && block2.num > 0) {
      const cached = this.block2.get(b2key());
      if (cached && cached.expires > this.clock.now()) return this.sliceBlock(cached.reply, block2.num, szx, extra);
      // Without a cached body only safe methods may run again to produce the block.
      if (method !== 'GET' && method !== 'FETCH') return diagnostic('4.08', 'no block-wise transfer of this response in progress');
    }

    const handler = this.handler;
    if (!handler) return diagnostic('4.04', 'no handler');
    const token = m.token;
    // Built field by field: conditional spreads cost an object each, on every request.
    const request: Mutable<IncomingRequest> = {
      peer,
      method,
      path,
      query,
      token,
      confirmable: m.type === 'CON',
      payload,
      options: uninterpreted(m.options),
    };
    if (contentFormat !== undefined) request.contentFormat = contentFormat;
    if (accept !== undefined) request.accept = accept;
    if (observe !== undefined) request.observe = observe;
    if (streamed !== undefined) request.streamed = streamed;
    let response: OutgoingResponse;
    try {
      response = await handler(request);
    } catch (err) {
      if (err instanceof Lwm2mError) return diagnostic(err.code, err.message);
      this.reportError(err);
      return { code: '5.00', options: [], payload: EMPTY };
    }
    if (!response || !isResponseCode(response.code)) {
      this.reportError(new CoapMessageError(`handler returned an invalid response code ${String(response?.code)}`, peer));
      return { code: '5.00', options: [], payload: EMPTY };
    }
    const reply = this.replyOf(response);
    if (observe === 0 && response.observe !== undefined && codeClass(response.code) === 2) {
      const getKey = JSON.stringify([peerKey(peer), 'GET', path, query, accept ?? null, '']);
      const okey = `${peerKey(peer)}|${hex(token)}`;
      this.observations.delete(okey);
      makeRoom(this.observations, 1024, this.clock.now());
      this.observations.set(okey, { key: getKey, expires: this.clock.now() + 24 * 3600_000 });
    }
    if (reply.payload.length > blockSizeOf(szx) || (block2 && block2.num > 0)) {
      if (!block2 || block2.num === 0) return this.firstBlock(b2key(), { ...reply, options: [...reply.options, ...extra] }, szx);
      return this.sliceBlock(reply, block2.num, szx, extra);
    }
    return extra.length === 0 ? reply : { ...reply, options: [...reply.options, ...extra] };
  }

  /** Wire form of a handler's response (without Block options). */
  private replyOf(response: OutgoingResponse): Reply {
    const options: RawOption[] = [...(response.options ?? [])];
    if (response.contentFormat !== undefined) options.push({ number: O.ContentFormat, value: encodeUint(response.contentFormat) });
    if (response.observe !== undefined) options.push({ number: O.Observe, value: encodeUint(response.observe & 0xffffff) });
    if (response.locationPath) options.push(...stringOptions(O.LocationPath, response.locationPath));
    return { code: response.code, options, payload: response.payload ?? EMPTY };
  }

  /** Caches a large response and answers its first block. */
  private firstBlock(key: string, reply: Reply, szx: number): Reply {
    this.block2.delete(key);
    makeRoom(this.block2, this.maxBlock2Entries, this.clock.now());
    this.block2.set(key, {
      // Later blocks answer plain GETs: they never carry Observe.
      reply: { ...reply, options: reply.options.filter((o) => o.number !== O.Observe && o.number !== O.Block1) },
      expires: this.clock.now() + this.params.exchangeLifetime,
    });
    return this.sliceBlock(reply, 0, szx, []);
  }

  private sliceBlock(reply: Reply, num: number, szx: number, extra: readonly RawOption[]): Reply {
    const size = blockSizeOf(szx);
    const offset = num * size;
    if (offset >= reply.payload.length && num > 0) return diagnostic('4.02', `block ${num} is beyond the end`);
    const more = offset + size < reply.payload.length;
    const options: RawOption[] = [...reply.options, ...extra, { number: O.Block2, value: encodeBlock({ num, more, szx }) }];
    if (num === 0) options.push({ number: O.Size2, value: encodeUint(reply.payload.length) });
    return { code: reply.code, options, payload: reply.payload.subarray(offset, offset + size) };
  }

  /** 4.13 with the largest body this side takes in Size1 (RFC 7959 §2.9.3). */
  private tooLarge(): Reply {
    return {
      code: '4.13',
      options: [{ number: O.Size1, value: encodeUint(this.maxBodySize) }],
      payload: utf8.encode(`request body exceeds ${this.maxBodySize} bytes`),
    };
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    this.block1Selector = selector;
  }

  /**
   * Hands one block of a streamed upload to its sink. Undefined when the request is not streamed (the
   * selector declined, a one-block body, or a later block of a reassembled transfer): it then takes the
   * usual path. Keyed like receiveBlock1, so a new token per block is fine.
   */
  private async receiveStreamedBlock1(
    peer: Peer,
    method: CoapMethod,
    path: readonly string[],
    query: readonly string[],
    contentFormat: number | undefined,
    block: BlockOption,
    m: CoapMessage,
  ): Promise<Reply | { length: number } | undefined> {
    const now = this.clock.now();
    for (const [k, t] of this.streams) {
      if (t.expires <= now) {
        this.streams.delete(k);
        t.sink.abort?.();
      }
    }
    const key = JSON.stringify([peerKey(peer), method, path, query]);
    const size = blockSizeOf(block.szx);
    const offset = block.num * size;
    let t = this.streams.get(key);
    const refused = (err: unknown): Reply => {
      if (err instanceof Lwm2mError) return diagnostic(err.code, err.message);
      this.reportError(err);
      return { code: '5.00', options: [], payload: EMPTY };
    };
    if (block.num === 0) {
      if (t) {
        // The sender started over: the old transfer will never finish.
        this.streams.delete(key);
        t.sink.abort?.();
        t = undefined;
      }
      const selector = this.block1Selector;
      if (!selector || !block.more) return undefined;
      const size1 = getUintOption(m.options, O.Size1);
      let sink: Block1Sink | undefined;
      try {
        sink = await selector({
          peer, method, path, query,
          ...(contentFormat !== undefined ? { contentFormat } : {}),
          ...(size1 !== undefined ? { size1 } : {}),
        });
      } catch (err) {
        return refused(err);
      }
      if (!sink) return undefined;
      t = { sink, received: 0, expires: now + this.blockTransferTimeout };
      this.streams.set(key, t);
    } else if (!t) {
      return undefined;
    } else if (offset > t.received) {
      this.streams.delete(key);
      t.sink.abort?.();
      return diagnostic('4.08', `block ${block.num} without the blocks before it`);
    }
    if (block.more && m.payload.length !== size) {
      this.streams.delete(key);
      t.sink.abort?.();
      return diagnostic('4.00', `block ${block.num} is ${m.payload.length} bytes, not ${size}`);
    }
    try {
      await t.sink.write(offset, m.payload, block.more);
    } catch (err) {
      this.streams.delete(key);
      return refused(err);
    }
    t.received = offset + m.payload.length;
    t.expires = this.clock.now() + this.blockTransferTimeout;
    if (block.more) {
      return { code: '2.31', options: [{ number: O.Block1, value: encodeBlock({ num: block.num, more: true, szx: Math.min(block.szx, this.szx) }) }], payload: EMPTY };
    }
    this.streams.delete(key);
    return { length: t.received };
  }

  /** Reassembles a Block1 upload keyed by (peer, method, path, query): servers see a new token per block (RFC 7959 §2.5). */
  private receiveBlock1(
    peer: Peer,
    method: string,
    path: readonly string[],
    query: readonly string[],
    block: BlockOption,
    m: CoapMessage,
  ): Reply | { body: Uint8Array } {
    const now = this.clock.now();
    for (const [k, t] of this.block1) if (t.expires <= now) this.block1.delete(k);
    const key = JSON.stringify([peerKey(peer), method, path, query]);
    const size = blockSizeOf(block.szx);
    const offset = block.num * size;
    const tooLarge = (): Reply => this.tooLarge();
    let t = this.block1.get(key);
    if (block.num === 0) {
      const size1 = getUintOption(m.options, O.Size1);
      if (size1 !== undefined && size1 > this.maxBodySize) {
        this.block1.delete(key);
        return tooLarge();
      }
      if (!block.more) return { body: m.payload };
      if (!t) {
        if (this.block1.size >= this.maxBlock1Transfers) return diagnostic('5.03', 'too many block-wise transfers in progress');
        t = { buffer: new Uint8Array(Math.min(this.maxBodySize, Math.max(size * 4, size1 ?? 0))), received: 0, expires: 0 };
        this.block1.set(key, t);
      }
      t.received = 0;
    } else if (!t || offset > t.received) {
      this.block1.delete(key);
      return diagnostic('4.08', `block ${block.num} without the blocks before it`);
    }
    if (block.more && m.payload.length !== size) {
      this.block1.delete(key);
      return diagnostic('4.00', `block ${block.num} is ${m.payload.length} bytes, not ${size}`);
    }
    const end = offset + m.payload.length;
    if (end > this.maxBodySize) {
      this.block1.delete(key);
      return tooLarge();
    }
    if (end > t.buffer.length) {
      const grown = new Uint8Array(Math.min(this.maxBodySize, Math.max(end, t.buffer.length * 2)));
      grown.set(t.buffer.subarray(0, t.received));
      t.buffer = grown;
    }
    // A block sent again with a new message id (offset below what we have) simply overwrites from there.
    t.buffer.set(m.payload, offset);
    t.received = end;
    t.expires = now + this.blockTransferTimeout;
    if (block.more) {
      return { code: '2.31', options: [{ number: O.Block1, value: encodeBlock({ num: block.num, more: true, szx: Math.min(block.szx, this.szx) }) }], payload: EMPTY };
    }
    this.block1.delete(key);
    return { body: t.buffer.slice(0, t.received) };
  }
}

function diagnostic(code: string, text: string): Reply {
  return { code, options: [], payload: utf8.encode(text) };
}

/** The message layer on a transport the caller made (UDP, DTLS, or an in-memory one in tests). */
export function createCoapEndpoint(transport: DatagramTransport, options: CoapEndpointOptions = {}): CoapEndpoint & { readonly parameters: TransmissionParameters } {
  return new Endpoint(transport, options);
}
