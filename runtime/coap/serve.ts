// The incoming half of the exchange core, for every transport: a request message mapped to the handler and its answer mapped back, block-wise included.
import { Block1Receiver } from './block1.js';
import { Block2Server } from './block2.js';
import { BERT_SZX, blockBytes, type BlockProfile } from './blocks.js';
import { hex, peerKey } from './bytes.js';
import type { Clock } from './clock.js';
import { codeClass, isResponseCode, methodOfCode } from './codes.js';
import { CoapMessageError } from './errors.js';
import {
  OptionNumber as O, decodeBlock, encodeBlock, getOption, getStringOptions, getUintOption, isCritical, type BlockOption,
} from './message.js';
import { EMPTY, INTERNAL_ERROR, diagnostic, errorReply, replyOf, type Reply } from './reply.js';
import type { Block1Selector, IncomingRequest, OutgoingResponse, Peer, RawOption, RequestHandler } from './types.js';

/** What the core needs of its endpoint: limits, time, sizes, and where swallowed errors go. */
export interface RequestServerOptions {
  readonly clock: Clock;
  readonly profile: BlockProfile;
  readonly maxBodySize: number;
  readonly maxBlock1Transfers: number;
  readonly blockTransferTimeout: number;
  readonly maxBlock2Entries: number;
  /** How long a large response stays cached for the peer's follow-up Block2 requests. */
  readonly block2Lifetime: number;
  /** Critical options the handler understands beyond the ones the layer does; others get 4.02. */
  readonly knownOptions?: readonly number[];
  readonly reportError: (error: unknown) => void;
}

/** A request message as any transport hands it over: code "0.xx", token, options, payload. */
export interface RequestMessage {
  readonly code: string;
  readonly token: Uint8Array;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

/** Critical options the layer itself handles or safely ignores (Uri-Host/Uri-Port name this endpoint). */
const LAYER_OPTIONS: readonly number[] = [
  O.IfMatch, O.UriHost, O.IfNoneMatch, O.UriPort, O.UriPath, O.UriQuery, O.Accept, O.Block2, O.Block1,
];
/** The critical options known to an endpoint that adds none: one set for every such endpoint. */
const LAYER_KNOWN: ReadonlySet<number> = new Set(LAYER_OPTIONS);
/** Options that become fields of IncomingRequest/IncomingResponse rather than RawOptions. */
export const INTERPRETED: ReadonlySet<number> = new Set<number>([
  O.UriPath, O.UriQuery, O.ContentFormat, O.Accept, O.Observe, O.LocationPath, O.Block1, O.Block2, O.Size1, O.Size2,
]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The options the handler sees: those this layer does not interpret (one loop, no closure). */
function uninterpreted(options: readonly RawOption[]): RawOption[] {
  const out: RawOption[] = [];
  for (const o of options) if (!INTERPRETED.has(o.number)) out.push(o);
  return out;
}

/** One endpoint's serving side: Block1 in, the handler, Block2 out; the transport only frames and sends the Reply. */
export class RequestServer {
  private handler: RequestHandler | undefined;
  private readonly knownCritical: ReadonlySet<number>;
  // The block-wise sides are made on first use: a fleet's devices rarely see a block option.
  #block1: Block1Receiver | undefined;
  #block2: Block2Server | undefined;

  constructor(private readonly o: RequestServerOptions) {
    this.knownCritical = o.knownOptions?.length ? new Set([...LAYER_OPTIONS, ...o.knownOptions]) : LAYER_KNOWN;
  }

  private get block1(): Block1Receiver {
    const o = this.o;
    return (this.#block1 ??= new Block1Receiver({
      clock: o.clock, profile: o.profile, maxBodySize: o.maxBodySize, maxTransfers: o.maxBlock1Transfers,
      transferTimeout: o.blockTransferTimeout, reportError: o.reportError,
    }));
  }

  private get block2(): Block2Server {
    const o = this.o;
    return (this.#block2 ??= new Block2Server({ clock: o.clock, profile: o.profile, maxEntries: o.maxBlock2Entries, lifetime: o.block2Lifetime }));
  }

  serve(handler: RequestHandler): void {
    this.handler = handler;
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    if (selector || this.#block1) this.block1.select(selector);
  }

  /** The wire form of a notification (its Observe as given): its first block when large (the rest is fetched from the observed resource). */
  notification(peer: Peer, token: Uint8Array, response: OutgoingResponse): Reply {
    const reply = replyOf(response);
    // Only a notification too large for one message needs the observation's cache key (and so the Block2 side).
    if (this.o.profile.fits(reply.options, reply.payload.length)) return reply;
    return this.block2.notification(`${peerKey(peer)}|${hex(token)}`, reply);
  }

  /** Drops every transfer in progress and every cached representation. */
  clear(): void {
    this.#block1?.clear();
    this.#block2?.clear();
  }

  /** The SZX a response with these options goes out in: ours, or the requester's when it asked for smaller blocks. */
  private szxFor(block2: BlockOption | undefined, options: readonly RawOption[]): number {
    const split = this.o.profile.splitSzx(options);
    return block2 ? Math.min(split, block2.szx) : split;
  }

  /** A block option as this side takes it: undefined when absent, 'bad' when malformed or BERT not agreed. */
  private blockOf(raw: Uint8Array | undefined): BlockOption | undefined | 'bad' {
    if (!raw) return undefined;
    const block = decodeBlock(raw);
    return !block || (block.szx === BERT_SZX && this.o.profile.maxSzx !== BERT_SZX) ? 'bad' : block;
  }

  /** Answers one request message; never throws (a handler's failure is a 5.00 or its CoapResponseError's code). */
  async process(m: RequestMessage, peer: Peer, confirmable: boolean): Promise<Reply> {
    try {
      return await this.answer(m, peer, confirmable);
    } catch (err) {
      return errorReply(err, this.o.reportError);
    }
  }

  private async answer(m: RequestMessage, peer: Peer, confirmable: boolean): Promise<Reply> {
    const method = methodOfCode(m.code);
    if (method === undefined) return diagnostic('4.05', `method code ${m.code} not supported`);
    for (const o of m.options) {
      if (isCritical(o.number) && !this.knownCritical.has(o.number)) return diagnostic('4.02', `unrecognized critical option ${o.number}`);
    }
    const path = getStringOptions(m.options, O.UriPath);
    const query = getStringOptions(m.options, O.UriQuery);
    const contentFormat = getUintOption(m.options, O.ContentFormat);
    const accept = getUintOption(m.options, O.Accept);
    const observe = getUintOption(m.options, O.Observe);
    const block1 = this.blockOf(getOption(m.options, O.Block1));
    const block2 = this.blockOf(getOption(m.options, O.Block2));
    if (block1 === 'bad' || block2 === 'bad') return diagnostic('4.00', 'invalid Block option');

    let payload = m.payload;
    let streamed: number | undefined;
    const extra: RawOption[] = [];
    if (!block1 && payload.length > this.o.maxBodySize) return this.block1.tooLarge();
    if (block1) {
      const r = { peer, method, path, query, contentFormat, block: block1, options: m.options, payload };
      const stream = this.block1.streaming ? await this.block1.stream(r) : undefined;
      if (stream) {
        if ('code' in stream) return stream;
        payload = EMPTY;
        streamed = stream.length;
      } else {
        const whole = this.block1.reassemble(r);
        if ('code' in whole) return whole;
        payload = whole.body;
      }
      extra.push({ number: O.Block1, value: encodeBlock({ num: block1.num, more: false, szx: block1.szx }) });
    }

    // Built only when a block-wise response is in play: most requests never need it.
    const b2key = (): string => JSON.stringify([peerKey(peer), method, path, query, accept ?? null, method === 'FETCH' ? hex(payload) : '']);
    // RFC 8132 2.3.2 has each block request of a FETCH repeat its body; libcoap's coap-client (4.3) sends the body
    // with block 0 only. A later block of a FETCH without a body is served from the last FETCH of that resource.
    const bodyless = (): string => JSON.stringify([peerKey(peer), method, path, query, accept ?? null, '-']);
    if (block2 && block2.num > 0) {
      const key = method === 'FETCH' && payload.length === 0 ? this.block2.resolve(bodyless()) ?? b2key() : b2key();
      const cached = this.block2.cached(key, block2.num, this.szxFor(block2, extra), extra);
      if (cached) return cached;
      // Without a cached body only safe methods may run again to produce the block.
      if (method !== 'GET' && method !== 'FETCH') return diagnostic('4.08', 'no block-wise transfer of this response in progress');
    }

    const handler = this.handler;
    if (!handler) return diagnostic('4.04', 'no handler');
    // Built field by field: conditional spreads cost an object each, on every request.
    const request: Mutable<IncomingRequest> = {
      peer, method, path, query, token: m.token, confirmable, payload, options: uninterpreted(m.options),
    };
    if (contentFormat !== undefined) request.contentFormat = contentFormat;
    if (accept !== undefined) request.accept = accept;
    if (observe !== undefined) request.observe = observe;
    if (streamed !== undefined) request.streamed = streamed;
    let response: OutgoingResponse;
    try {
      response = await handler(request);
    } catch (err) {
      return errorReply(err, this.o.reportError);
    }
    if (!response || !isResponseCode(response.code)) {
      this.o.reportError(new CoapMessageError(`handler returned an invalid response code ${String(response?.code)}`, peer));
      return INTERNAL_ERROR;
    }
    const reply = replyOf(response);
    if (observe === 0 && response.observe !== undefined && codeClass(response.code) === 2) {
      // Large notifications are fetched block by block with the observing request's method: GET, or FETCH with its body.
      this.block2.observe(`${peerKey(peer)}|${hex(m.token)}`, b2key());
    }
    const whole = block2
      ? block2.num === 0 && reply.payload.length <= blockBytes(this.o.profile, this.szxFor(block2, reply.options), reply.options)
      : this.o.profile.fits(reply.options, reply.payload.length);
    if (!whole) {
      const szx = this.szxFor(block2, reply.options);
      if (!block2 || block2.num === 0) {
        if (method === 'FETCH') this.block2.alias(bodyless(), b2key());
        return this.block2.first(b2key(), { ...reply, options: [...reply.options, ...extra] }, szx);
      }
      return this.block2.slice(reply, block2.num, szx, extra);
    }
    return extra.length === 0 ? reply : { ...reply, options: [...reply.options, ...extra] };
  }
}
