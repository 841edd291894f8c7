// Incoming Block1 uploads for every transport: reassembly keyed by (peer, method, path, query), or block by block to a sink.
import { BERT_SZX, fullBlock, unitOf, type BlockProfile } from './blocks.js';
import { peerKey } from './bytes.js';
import type { Clock } from './clock.js';
import { OptionNumber as O, encodeBlock, encodeUint, getUintOption, type BlockOption } from './message.js';
import { EMPTY, diagnostic, errorReply, type Reply } from './reply.js';
import type { Block1Selector, Block1Sink, CoapMethod, Peer, RawOption } from './types.js';

export interface Block1Options {
  readonly clock: Clock;
  readonly profile: BlockProfile;
  /** Largest body reassembled; larger uploads get 4.13 with Size1. */
  readonly maxBodySize: number;
  /** Concurrent reassembled transfers; a new one beyond this gets 5.03. */
  readonly maxTransfers: number;
  /** A transfer with no block for this long is dropped. */
  readonly transferTimeout: number;
  readonly reportError: (error: unknown) => void;
}

/** The part of an incoming request a Block1 transfer is keyed and checked by. */
export interface Block1Request {
  readonly peer: Peer;
  readonly method: CoapMethod;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly contentFormat: number | undefined;
  readonly block: BlockOption;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

interface Reassembly {
  buffer: Uint8Array;
  received: number;
  expires: number;
}

interface Stream {
  readonly sink: Block1Sink;
  received: number;
  expires: number;
}

/** Block1 transfers in progress on one endpoint; servers see a new token per block, so they are keyed by request, not token (RFC 7959 §2.5). */
export class Block1Receiver {
  // Both tables are made when first written: most endpoints never take a block-wise upload.
  private reassemblies: Map<string, Reassembly> | undefined;
  /** Uploads going block by block to a sink (stream), keyed like reassemblies. */
  private streams: Map<string, Stream> | undefined;
  private selector: Block1Selector | undefined;

  constructor(private readonly o: Block1Options) {}

  /** Chooses which uploads are streamed (see CoapEndpoint.streamBlock1). */
  select(selector: Block1Selector | undefined): void {
    this.selector = selector;
  }

  /** Whether a Block1 request may be streamed: a selector is installed or a stream is in progress. */
  get streaming(): boolean {
    return this.selector !== undefined || (this.streams?.size ?? 0) > 0;
  }

  /** 4.13 with the largest body this side takes in Size1 (RFC 7959 §2.9.3). */
  tooLarge(): Reply {
    return { ...diagnostic('4.13', `request body exceeds ${this.o.maxBodySize} bytes`), options: [{ number: O.Size1, value: encodeUint(this.o.maxBodySize) }] };
  }

  /** 2.31 Continue for a block, in the block size this side takes. */
  private continue(block: BlockOption): Reply {
    const szx = Math.min(block.szx, this.o.profile.maxSzx);
    return { code: '2.31', options: [{ number: O.Block1, value: encodeBlock({ num: block.num, more: true, szx }) }], payload: EMPTY };
  }

  /**
   * Hands one block of a streamed upload to its sink. Undefined when the request is not streamed (the selector
   * declined, a one-block body, or a later block of a reassembled transfer): it then takes the usual path.
   */
  async stream(r: Block1Request): Promise<Reply | { length: number } | undefined> {
    const now = this.o.clock.now();
    const streams = (this.streams ??= new Map());
    for (const [k, t] of streams) {
      if (t.expires <= now) {
        streams.delete(k);
        t.sink.abort?.();
      }
    }
    const { block } = r;
    const key = JSON.stringify([peerKey(r.peer), r.method, r.path, r.query]);
    const offset = block.num * unitOf(block.szx);
    let t = streams.get(key);
    const refused = (err: unknown): Reply => errorReply(err, this.o.reportError);
    if (block.num === 0) {
      if (t) {
        // The sender started over: the old transfer will never finish.
        streams.delete(key);
        t.sink.abort?.();
        t = undefined;
      }
      const selector = this.selector;
      if (!selector || !block.more) return undefined;
      const size1 = getUintOption(r.options, O.Size1);
      let sink: Block1Sink | undefined;
      try {
        sink = await selector({
          peer: r.peer, method: r.method, path: r.path, query: r.query,
          ...(r.contentFormat !== undefined ? { contentFormat: r.contentFormat } : {}),
          ...(size1 !== undefined ? { size1 } : {}),
        });
      } catch (err) {
        return refused(err);
      }
      if (!sink) return undefined;
      t = { sink, received: 0, expires: now + this.o.transferTimeout };
      streams.set(key, t);
    } else if (!t) {
      return undefined;
    } else if (offset > t.received) {
      streams.delete(key);
      t.sink.abort?.();
      return diagnostic('4.08', `block ${block.num} without the blocks before it`);
    }
    if (block.more && !fullBlock(block.szx, r.payload.length)) {
      streams.delete(key);
      t.sink.abort?.();
      return this.badSize(block, r.payload.length);
    }
    try {
      await t.sink.write(offset, r.payload, block.more);
    } catch (err) {
      streams.delete(key);
      return refused(err);
    }
    t.received = offset + r.payload.length;
    t.expires = this.o.clock.now() + this.o.transferTimeout;
    if (block.more) return this.continue(block);
    streams.delete(key);
    return { length: t.received };
  }

  /** Reassembles a Block1 upload in memory; the body once the last block is in, else the answer to this block. */
  reassemble(r: Block1Request): Reply | { body: Uint8Array } {
    const now = this.o.clock.now();
    const reassemblies = (this.reassemblies ??= new Map());
    for (const [k, t] of reassemblies) if (t.expires <= now) reassemblies.delete(k);
    const { block, payload } = r;
    const { maxBodySize } = this.o;
    const key = JSON.stringify([peerKey(r.peer), r.method, r.path, r.query]);
    const unit = unitOf(block.szx);
    const offset = block.num * unit;
    let t = reassemblies.get(key);
    if (block.num === 0) {
      const size1 = getUintOption(r.options, O.Size1);
      if (size1 !== undefined && size1 > maxBodySize) {
        reassemblies.delete(key);
        return this.tooLarge();
      }
      if (!block.more) return { body: payload };
      if (!t) {
        if (reassemblies.size >= this.o.maxTransfers) return diagnostic('5.03', 'too many block-wise transfers in progress');
        const size = Math.max(unit, payload.length);
        t = { buffer: new Uint8Array(Math.min(maxBodySize, Math.max(size * 4, size1 ?? 0))), received: 0, expires: 0 };
        reassemblies.set(key, t);
      }
      t.received = 0;
    } else if (!t || offset > t.received) {
      reassemblies.delete(key);
      return diagnostic('4.08', `block ${block.num} without the blocks before it`);
    }
    if (block.more && !fullBlock(block.szx, payload.length)) {
      reassemblies.delete(key);
      return this.badSize(block, payload.length);
    }
    const end = offset + payload.length;
    if (end > maxBodySize) {
      reassemblies.delete(key);
      return this.tooLarge();
    }
    if (end > t.buffer.length) {
      const grown = new Uint8Array(Math.min(maxBodySize, Math.max(end, t.buffer.length * 2)));
      grown.set(t.buffer.subarray(0, t.received));
      t.buffer = grown;
    }
    // A block sent again with a new message id (offset below what we have) simply overwrites from there.
    t.buffer.set(payload, offset);
    t.received = end;
    t.expires = now + this.o.transferTimeout;
    if (block.more) return this.continue(block);
    reassemblies.delete(key);
    return { body: t.buffer.slice(0, t.received) };
  }

  private badSize(block: BlockOption, length: number): Reply {
    const expected = block.szx === BERT_SZX ? 'a multiple of 1024' : String(unitOf(block.szx));
    return diagnostic('4.00', `block ${block.num} is ${length} bytes, not ${expected}`);
  }

  /** Drops every transfer (the endpoint closed); streamed ones are aborted. */
  clear(): void {
    for (const t of this.streams?.values() ?? []) t.sink.abort?.();
    this.streams?.clear();
    this.reassemblies?.clear();
  }
}
