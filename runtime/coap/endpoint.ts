// The CoAP endpoint over any datagram transport (RFC 7252, 7641, 7959): deduplication, piggybacked and separate
// responses and CON/NON notifications around the exchange core (serve.ts, request.ts) and reliability.ts.
import net from 'node:net';
import { makeRoom } from './block2.js';
import { bytesEqual, hex, peerKey } from './bytes.js';
import { fixedBlockProfile, type BlockProfile } from './blocks.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { codeClass } from './codes.js';
import { CoapClosedError, CoapMessageError, CoapResetError, CoapTimeoutError } from './errors.js';
import { decodeMessage, emptyMessage, encodeMessage, szxOf, type CoapMessage, type MessageType } from './message.js';
import { PeerSlots, Retransmitter, type Transmission } from './reliability.js';
import { EMPTY, type Reply } from './reply.js';
import { sendRequest } from './request.js';
import { RequestServer } from './serve.js';
import { transmissionParameters, type CoapEndpointOptions, type TransmissionParameters } from './transmission.js';
import type {
  Block1Selector, CoapEndpoint, DatagramTransport, IncomingResponse, NotificationOutcome, OutgoingRequest, OutgoingResponse,
  Peer, RawOption, RequestHandler,
} from './types.js';

export { transmissionParameters, type CoapEndpointOptions, type TransmissionParameters } from './transmission.js';

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

interface NonNotification {
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly expires: number;
}

class Endpoint implements CoapEndpoint {
  private readonly params: TransmissionParameters;
  private readonly clock: Clock;
  private readonly profile: BlockProfile;
  private readonly maxBodySize: number;
  private readonly maxDedupEntries: number;
  private readonly tokenLength: number;
  private readonly separateResponseDelay: number;
  private readonly separateResponseTimeout: number;
  private readonly nstart: number;
  private readonly slots: PeerSlots;
  private readonly retransmitter: Retransmitter;
  private readonly server: RequestServer;

  private observeSequence = 0;
  private closed = false;
  // The tables below are made when first written (a fleet holds many endpoints, most with nothing in flight);
  // `pending` is dropped again when its last exchange is done.
  private pending: Map<string, PendingExchange> | undefined;
  private dedup: Map<string, DedupEntry> | undefined;
  private nonNotifications: Map<number, NonNotification> | undefined;
  /** The CON notification in flight per observation (peer|token), to be replaced by a newer one. */
  private conNotifications: Map<string, { transmission: Transmission; resolve(o: NotificationOutcome): void }> | undefined;

  constructor(
    private readonly transport: DatagramTransport,
    private readonly options: CoapEndpointOptions,
  ) {
    this.params = transmissionParameters(options);
    this.clock = options.clock ?? systemClock;
    this.profile = fixedBlockProfile(szxOf(options.blockSize ?? 1024));
    this.maxBodySize = options.maxBodySize ?? 1 << 20;
    this.maxDedupEntries = options.maxDedupEntries ?? 4096;
    this.tokenLength = options.tokenLength ?? 8;
    this.nstart = options.nstart ?? Infinity;
    if (!(this.nstart >= 1)) throw new RangeError(`nstart must be at least 1, got ${this.nstart}`);
    if (!Number.isInteger(this.tokenLength) || this.tokenLength < 1 || this.tokenLength > 8) {
      throw new RangeError(`tokenLength must be 1..8, got ${this.tokenLength}`);
    }
    this.separateResponseDelay = options.separateResponseDelay ?? 1000;
    this.separateResponseTimeout = options.separateResponseTimeout ?? this.params.exchangeLifetime;
    this.slots = new PeerSlots(this.nstart);
    this.retransmitter = new Retransmitter(this.clock, this.params, options.random ?? Math.random, (data, peer) => this.send(data, peer));
    this.server = new RequestServer({
      clock: this.clock,
      profile: this.profile,
      maxBodySize: this.maxBodySize,
      maxBlock1Transfers: options.maxBlock1Transfers ?? 8,
      blockTransferTimeout: options.blockTransferTimeout ?? this.params.exchangeLifetime,
      maxBlock2Entries: options.maxBlock2Entries ?? 32,
      block2Lifetime: this.params.exchangeLifetime,
      ...(options.knownOptions ? { knownOptions: options.knownOptions } : {}),
      reportError: (err) => this.reportError(err),
    });
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
    this.server.serve(handler);
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    this.server.streamBlock1(selector);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const transmissions = this.retransmitter.stopAll();
    for (const p of [...(this.pending?.values() ?? [])]) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.reject(new CoapClosedError('endpoint closed', p.peer));
    }
    this.pending = undefined;
    this.slots.failAll();
    // Notifications still waiting for an ACK end as 'timeout': nobody will acknowledge them now.
    for (const t of transmissions) t.onTimeout(t.sent);
    await this.transport.close();
  }

  // ---- sending ----

  private allocateToken(): Uint8Array {
    for (;;) {
      const token = new Uint8Array(this.tokenLength);
      crypto.getRandomValues(token);
      if (!this.pending?.has(hex(token))) return token;
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
    if (this.closed) throw new CoapClosedError('endpoint closed', peer);
    const key = peerKey(peer);
    await this.slots.acquire(key);
    try {
      return await this.exchangeNow(peer, type, code, options, payload, reuseToken);
    } finally {
      this.slots.release(key);
    }
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
      const token = reuseToken && !this.pending?.has(hex(reuseToken)) ? reuseToken : this.allocateToken();
      const key = hex(token);
      const messageId = this.retransmitter.allocateMessageId();
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
      (this.pending ??= new Map()).set(key, p);
      if (type === 'CON') {
        p.transmission = this.retransmitter.sendConfirmable(peer, messageId, data, {
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
    const pending = this.pending;
    if (pending?.get(key) === p) {
      pending.delete(key);
      if (pending.size === 0) this.pending = undefined;
    }
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    p.timer = undefined;
    if (p.transmission) this.retransmitter.stop(p.transmission);
    p.transmission = undefined;
  }

  request(peer: Peer, request: OutgoingRequest): Promise<IncomingResponse> {
    const type = request.confirmable === false ? 'NON' : 'CON';
    return sendRequest(
      peer, request, (code, options, payload, token) => this.exchange(peer, type, code, options, payload, token), this.profile, this.maxBodySize,
    );
  }

  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome> {
    if (this.closed) return Promise.reject(new CoapClosedError('endpoint closed', peer));
    if (token.length > 8) return Promise.reject(new CoapMessageError('token longer than 8 bytes', peer));
    this.observeSequence = (this.observeSequence + 1) & 0xffffff;
    const reply = this.server.notification(peer, token, { ...response, observe: response.observe ?? this.observeSequence });
    const messageId = this.retransmitter.allocateMessageId();
    let data: Uint8Array;
    try {
      data = encodeMessage({ type: confirmable ? 'CON' : 'NON', code: reply.code, messageId, token, options: reply.options, payload: reply.payload });
    } catch (err) {
      return Promise.reject(new CoapMessageError(`cannot encode notification: ${(err as Error).message}`, peer));
    }
    if (!confirmable) {
      const non = (this.nonNotifications ??= new Map());
      makeRoom(non, 256, this.clock.now());
      non.set(messageId, { peer, token, expires: this.clock.now() + this.params.nonLifetime });
      this.send(data, peer);
      return Promise.resolve('sent');
    }
    // RFC 7641 §4.5.2: a newer CON notification replaces one still in flight for the same observation and
    // carries on its retransmission count and timeout; the replaced one ends as the newer one does.
    const okey = `${peerKey(peer)}|${hex(token)}`;
    const con = (this.conNotifications ??= new Map());
    let previous = con.get(okey);
    if (previous && this.retransmitter.live(previous.transmission)) {
      this.retransmitter.stop(previous.transmission);
    } else {
      previous = undefined;
    }
    return new Promise<NotificationOutcome>((resolve) => {
      const done = (outcome: NotificationOutcome): void => {
        if (con.get(okey) === entry) con.delete(okey);
        resolve(outcome);
        previous?.resolve(outcome);
      };
      const entry: { transmission: Transmission; resolve(o: NotificationOutcome): void } = {
        transmission: this.retransmitter.sendConfirmable(
          peer,
          messageId,
          data,
          { onAck: () => done('acked'), onReset: () => done('reset'), onTimeout: () => done('timeout') },
          previous?.transmission,
        ),
        resolve: done,
      };
      con.set(okey, entry);
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
    const dedup = (this.dedup ??= new Map());
    const seen = dedup.get(dkey);
    if (seen && seen.expires > now) {
      if (m.type === 'CON' && seen.reply) this.send(seen.reply, peer);
      return;
    }
    if (seen) dedup.delete(dkey);
    makeRoom(dedup, this.maxDedupEntries, now);
    const entry: DedupEntry = {
      expires: now + (m.type === 'CON' ? this.params.exchangeLifetime : this.params.nonLifetime),
      reply: undefined,
    };
    dedup.set(dkey, entry);
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
    const t = this.retransmitter.get(m.messageId);
    if (!t || !this.samePeer(t.peer, peer)) return;
    this.retransmitter.stop(t);
    t.onAck(m);
  }

  private onReset(m: CoapMessage, peer: Peer): void {
    const t = this.retransmitter.get(m.messageId);
    if (t && this.samePeer(t.peer, peer)) {
      this.retransmitter.stop(t);
      t.onReset();
      return;
    }
    const n = this.nonNotifications?.get(m.messageId);
    if (n && this.samePeer(n.peer, peer)) {
      this.nonNotifications!.delete(m.messageId);
      try {
        this.options.onNotificationReset?.(n.peer, n.token);
      } catch (err) {
        this.reportError(err);
      }
    }
  }

  /** A separate response (CON or NON) to one of our requests. */
  private onResponse(m: CoapMessage, peer: Peer, entry: DedupEntry): void {
    const p = this.pending?.get(hex(m.token));
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
    const reply: Reply = await this.server.process(m, peer, m.type === 'CON');
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
      const messageId = this.retransmitter.allocateMessageId();
      const data = encode('CON', messageId);
      if (!data) return;
      this.retransmitter.sendConfirmable(peer, messageId, data, {
        onAck: () => undefined,
        onReset: () => undefined,
        onTimeout: (sent) => this.closed || this.reportError(new CoapTimeoutError(`separate response not acknowledged after ${sent} transmissions`, peer, sent)),
      });
    } else {
      const data = encode('NON', this.retransmitter.allocateMessageId());
      if (data) this.send(data, peer);
    }
  }
}

/** The message layer on a transport the caller made (UDP, DTLS, or an in-memory one in tests). */
export function createCoapEndpoint(transport: DatagramTransport, options: CoapEndpointOptions = {}): CoapEndpoint & { readonly parameters: TransmissionParameters } {
  return new Endpoint(transport, options);
}
