// RFC 8323 message framing for CoAP over TCP and TLS: signal codes, CSM options, frame encoding, and an incremental frame decoder.
// Option numbers, uint and Block option values are the same as over UDP and come from message.ts.
import type { RawOption } from './types.js';

/** A CoAP message as it travels over a reliable stream: no type, no message id. */
export interface StreamMessage {
  /** The code byte: class << 5 | detail (0x45 is 2.05, 0xE1 is 7.01 CSM). */
  readonly code: number;
  readonly token: Uint8Array;
  /** Sorted by number (encodeStreamMessage sorts stably, keeping repeated options in order). */
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

/** Signaling codes (7.xx) and their options (RFC 8323 §5). */
export const SIGNAL = {
  CSM: 0xe1,
  Ping: 0xe2,
  Pong: 0xe3,
  Release: 0xe4,
  Abort: 0xe5,
} as const;
export const CSM_OPTION = { MaxMessageSize: 2, BlockWiseTransfer: 4 } as const;
export const RELEASE_OPTION = { AlternativeAddress: 2, HoldOff: 4 } as const;
export const ABORT_OPTION = { BadCsmOption: 2 } as const;

/** Thrown by the decoder for bytes that cannot be a CoAP-over-TCP message; the connection must be aborted. */
export class StreamFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamFramingError';
  }
}

// Code bytes are the same as over UDP: codes.ts has the one table.
export { codeFromString, codeToString } from './codes.js';

function nibble(n: number): [number, number[]] {
  if (n < 13) return [n, []];
  if (n < 269) return [13, [n - 13]];
  if (n < 65805) return [14, [(n - 269) >> 8, (n - 269) & 0xff]];
  throw new RangeError(`option delta or length too large: ${n}`);
}

/** The option bytes (delta encoding) and payload marker, the part RFC 8323 counts in Len before the payload. */
function encodeOptions(options: readonly RawOption[], hasPayload: boolean): Uint8Array[] {
  const sorted = [...options].sort((a, b) => a.number - b.number);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const o of sorted) {
    const [d, dExt] = nibble(o.number - prev);
    const [l, lExt] = nibble(o.value.length);
    parts.push(Uint8Array.from([(d << 4) | l, ...dExt, ...lExt]), o.value);
    prev = o.number;
  }
  if (hasPayload) parts.push(Uint8Array.of(0xff));
  return parts;
}

/** Frames a message as RFC 8323 §3.2 does: Len/TKL byte, extended length, code, token, options, payload. The payload is copied once. */
export function encodeStreamMessage(msg: StreamMessage): Buffer {
  if (msg.token.length > 8) throw new RangeError('token longer than 8 bytes');
  const parts = encodeOptions(msg.options, msg.payload.length > 0);
  let len = msg.payload.length;
  for (const p of parts) len += p.length;
  let head: number[];
  if (len < 13) head = [(len << 4) | msg.token.length];
  else if (len < 269) head = [(13 << 4) | msg.token.length, len - 13];
  else if (len < 65805) head = [(14 << 4) | msg.token.length, (len - 269) >> 8, (len - 269) & 0xff];
  else {
    const x = len - 65805;
    head = [(15 << 4) | msg.token.length, (x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
  }
  return Buffer.concat([Uint8Array.from([...head, msg.code]), msg.token, ...parts, msg.payload]);
}

/** Total framed size of a message whose options+payload take `bodyLength` bytes; used to respect the peer's Max-Message-Size. */
export function frameOverhead(bodyLength: number, tokenLength: number): number {
  const ext = bodyLength < 13 ? 0 : bodyLength < 269 ? 1 : bodyLength < 65805 ? 2 : 4;
  return 2 + ext + tokenLength;
}

function parseBody(body: Buffer): { options: RawOption[]; payload: Uint8Array } {
  const options: RawOption[] = [];
  let i = 0;
  let number = 0;
  const ext = (n: number): number => {
    if (n < 13) return n;
    if (n === 13) {
      if (i + 1 > body.length) throw new StreamFramingError('option header truncated');
      return body[i++]! + 13;
    }
    if (n === 14) {
      if (i + 2 > body.length) throw new StreamFramingError('option header truncated');
      const v = body.readUInt16BE(i) + 269;
      i += 2;
      return v;
    }
    throw new StreamFramingError('reserved option nibble 15');
  };
  while (i < body.length) {
    const b = body[i++]!;
    if (b === 0xff) {
      if (i === body.length) throw new StreamFramingError('payload marker followed by an empty payload');
      return { options, payload: body.subarray(i) };
    }
    number += ext(b >> 4);
    const len = ext(b & 0x0f);
    if (i + len > body.length) throw new StreamFramingError('option value truncated');
    options.push({ number, value: body.subarray(i, i + len) });
    i += len;
  }
  return { options, payload: new Uint8Array(0) };
}

/**
 * Reassembles frames from stream chunks. push() returns the messages completed by a chunk; a frame whose
 * declared size exceeds maxMessageSize is refused before it is buffered, so a peer cannot make us hold a huge frame.
 */
export class StreamFrameDecoder {
  /** Received bytes not yet framed, as they came: a large frame is copied once, when it is complete. */
  readonly #chunks: Buffer[] = [];
  #length = 0;
  readonly #maxMessageSize: number;

  constructor(maxMessageSize: number) {
    this.#maxMessageSize = maxMessageSize;
  }

  /** The first `n` buffered bytes as one buffer (joining chunks only as far as needed). */
  #head(n: number): Buffer {
    let first = this.#chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.#chunks);
      this.#chunks.splice(0, this.#chunks.length, first);
    }
    return first;
  }

  /** Takes `n` bytes off the front, as a copy of their own (later chunks cannot alias what a handler keeps). */
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#length -= n;
    return out;
  }

  push(chunk: Uint8Array): StreamMessage[] {
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#length += chunk.length;
    }
    const out: StreamMessage[] = [];
    while (this.#length >= 1) {
      const first = this.#chunks[0]![0]!;
      const lenNibble = first >> 4;
      const tkl = first & 0x0f;
      if (tkl > 8) throw new StreamFramingError(`token length ${tkl} is reserved`);
      const extLen = lenNibble < 13 ? 0 : lenNibble === 13 ? 1 : lenNibble === 14 ? 2 : 4;
      if (this.#length < 1 + extLen) break;
      const buf = this.#head(1 + extLen);
      let len: number;
      if (extLen === 0) len = lenNibble;
      else if (extLen === 1) len = buf[1]! + 13;
      else if (extLen === 2) len = buf.readUInt16BE(1) + 269;
      else len = buf.readUInt32BE(1) + 65805;
      const total = 1 + extLen + 1 + tkl + len;
      if (total > this.#maxMessageSize) {
        throw new StreamFramingError(`message of ${total} bytes exceeds the Max-Message-Size of ${this.#maxMessageSize}`);
      }
      if (this.#length < total) break;
      const frame = this.#take(total);
      const code = frame[1 + extLen]!;
      const tokenStart = 2 + extLen;
      const token = frame.subarray(tokenStart, tokenStart + tkl);
      const { options, payload } = parseBody(frame.subarray(tokenStart + tkl));
      out.push({ code, token, options, payload });
    }
    return out;
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pending(): number {
    return this.#length;
  }
}
