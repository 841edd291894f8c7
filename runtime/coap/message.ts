// CoAP message framing (RFC 7252 §3): strict validation and parsing of datagrams, encoding, option helpers, Block options.
import { Buffer } from 'node:buffer';
import type { RawOption } from './types.js';

/** Option numbers the layer knows (IANA CoAP Option Numbers registry). */
export const OptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  Accept: 17,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  NoResponse: 258,
} as const;

export type MessageType = 'CON' | 'NON' | 'ACK' | 'RST';

/** One CoAP message with options as (number, bytes) in wire order. */
export interface CoapMessage {
  readonly type: MessageType;
  /** "class.detail": "0.00" empty, "0.01".."0.31" requests, "2.05" etc. responses. */
  readonly code: string;
  readonly messageId: number;
  readonly token: Uint8Array;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

// The method and code tables live in codes.ts; re-exported for the message helpers' callers.
export { methodOfCode, codeOfMethod } from './codes.js';

/**
 * Walks the framing of a datagram and says whether it is a well-formed RFC 7252 message. coap-packet's parser
 * accepts truncated option values, token lengths 9..14 and a payload marker with no payload; RFC 7252 calls all
 * of these message format errors, so they are refused here before decodeMessage reads the bytes.
 */
export function isWellFormed(data: Uint8Array): boolean {
  if (data.length < 4) return false;
  const b0 = data[0]!;
  if (b0 >> 6 !== 1) return false;
  const tkl = b0 & 0x0f;
  if (tkl > 8) return false;
  const code = data[1]!;
  if (code === 0) return data.length === 4 && tkl === 0;
  const cls = code >> 5;
  if (cls === 1 || cls === 6 || cls === 7) return false;
  let pos = 4 + tkl;
  if (pos > data.length) return false;
  while (pos < data.length) {
    const b = data[pos++]!;
    if (b === 0xff) return pos < data.length;
    const delta = b >> 4;
    let len = b & 0x0f;
    if (delta === 15 || len === 15) return false;
    // Extended deltas only shift the option number; here only their bytes matter.
    if (delta === 13) pos += 1;
    else if (delta === 14) pos += 2;
    if (pos > data.length) return false;
    if (len === 13) {
      if (pos + 1 > data.length) return false;
      len = data[pos++]! + 13;
    } else if (len === 14) {
      if (pos + 2 > data.length) return false;
      len = ((data[pos]! << 8) | data[pos + 1]!) + 269;
      pos += 2;
    }
    pos += len;
    if (pos > data.length) return false;
  }
  return true;
}

/**
 * Parses a datagram; undefined for anything malformed (never throws). The framing is walked here rather than by
 * coap-packet: one pass over the bytes, options and payload as views of the datagram, no name round trip.
 */
export function decodeMessage(data: Uint8Array): CoapMessage | undefined {
  if (!isWellFormed(data)) return undefined;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const b0 = buf[0]!;
  const t = (b0 >> 4) & 3;
  const type: MessageType = t === 0 ? 'CON' : t === 1 ? 'NON' : t === 2 ? 'ACK' : 'RST';
  const code = CODE_STRINGS[buf[1]!]!;
  const messageId = (buf[2]! << 8) | buf[3]!;
  const tkl = b0 & 0x0f;
  const token = buf.subarray(4, 4 + tkl);
  const options: RawOption[] = [];
  let pos = 4 + tkl;
  let number = 0;
  let payload: Uint8Array = EMPTY_BUFFER;
  // isWellFormed has checked every length and refused delta/length 15, so no bound checks are needed here.
  while (pos < buf.length) {
    const b = buf[pos++]!;
    if (b === 0xff) {
      payload = buf.subarray(pos);
      break;
    }
    let delta = b >> 4;
    let len = b & 0x0f;
    if (delta === 13) delta = buf[pos++]! + 13;
    else if (delta === 14) {
      delta = ((buf[pos]! << 8) | buf[pos + 1]!) + 269;
      pos += 2;
    }
    if (len === 13) len = buf[pos++]! + 13;
    else if (len === 14) {
      len = ((buf[pos]! << 8) | buf[pos + 1]!) + 269;
      pos += 2;
    }
    number += delta;
    options.push({ number, value: buf.subarray(pos, pos + len) });
    pos += len;
  }
  return { type, code, messageId, token, options, payload };
}

const EMPTY_BUFFER = Buffer.alloc(0);
/** "c.dd" of every code byte, made once rather than per message. */
const CODE_STRINGS: readonly string[] = Array.from({ length: 256 }, (_, c) => `${c >> 5}.${(c & 31) < 10 ? '0' : ''}${c & 31}`);

/** The code byte of "c.dd" (the class in the top 3 bits), as coap-packet computed it. */
function codeByte(code: string): number {
  if (code.length === 4 && code.charCodeAt(1) === 46) {
    const cls = code.charCodeAt(0) - 48;
    const d1 = code.charCodeAt(2) - 48;
    const d0 = code.charCodeAt(3) - 48;
    if (cls >= 0 && cls <= 7 && d1 >= 0 && d1 <= 9 && d0 >= 0 && d0 <= 9) return (cls << 5) | (d1 * 10 + d0);
  }
  const [c, d] = code.split('.');
  const v = (Number.parseInt(c ?? '', 10) << 5) | Number.parseInt(d ?? '', 10);
  if (!(v >= 0 && v <= 255)) throw new RangeError(`not a CoAP code: ${code}`);
  return v;
}

function extLength(n: number): number {
  return n < 13 ? 0 : n < 269 ? 1 : 2;
}

/**
 * Encodes a message; options may come in any order (they are sorted stably, so repeated options keep their order).
 * Written straight into one buffer: this runs for every response a device sends.
 */
export function encodeMessage(message: CoapMessage, maxLength = 65507): Uint8Array {
  const { token, payload } = message;
  const tkl = token.length;
  if (tkl > 65804) throw new Error('Token too long');
  let options = message.options;
  for (let i = 1; i < options.length; i++) {
    if (options[i]!.number < options[i - 1]!.number) {
      // Array.prototype.sort is stable: repeated options keep their order.
      options = [...options].sort((a, b) => a.number - b.number);
      break;
    }
  }
  const empty = message.code === '0.00';
  let length = 4 + tkl + (tkl > 268 ? 2 : tkl > 12 ? 1 : 0) + (!empty && payload.length > 0 ? 1 + payload.length : 0);
  let prev = 0;
  for (const o of options) {
    const vl = o.value.length;
    if (vl > 65804) throw new RangeError(`option ${o.number} value of ${vl} bytes is too long`);
    length += 1 + extLength(o.number - prev) + extLength(vl) + vl;
    prev = o.number;
  }
  if (length > maxLength) throw new Error(`Max packet size is ${maxLength}: current is ${length}`);
  const out = Buffer.allocUnsafe(length);
  const t = message.type === 'CON' ? 0 : message.type === 'ACK' ? 2 : message.type === 'RST' ? 3 : 1;
  out[0] = 0x40 | (t << 4) | (tkl < 13 ? tkl : tkl < 269 ? 13 : 14);
  out[1] = codeByte(message.code);
  out[2] = (message.messageId >> 8) & 0xff;
  out[3] = message.messageId & 0xff;
  let pos = 4;
  if (tkl > 268) {
    out.writeUInt16BE(tkl - 269, pos);
    pos += 2;
  } else if (tkl > 12) {
    out[pos++] = tkl - 13;
  }
  out.set(token, pos);
  pos += tkl;
  prev = 0;
  for (const o of options) {
    const delta = o.number - prev;
    const vl = o.value.length;
    out[pos++] = ((delta < 13 ? delta : delta < 269 ? 13 : 14) << 4) | (vl < 13 ? vl : vl < 269 ? 13 : 14);
    if (delta >= 269) {
      out.writeUInt16BE(delta - 269, pos);
      pos += 2;
    } else if (delta >= 13) {
      out[pos++] = delta - 13;
    }
    if (vl >= 269) {
      out.writeUInt16BE(vl - 269, pos);
      pos += 2;
    } else if (vl >= 13) {
      out[pos++] = vl - 13;
    }
    out.set(o.value, pos);
    pos += vl;
    prev = o.number;
  }
  if (!empty && payload.length > 0) {
    out[pos++] = 0xff;
    out.set(payload, pos);
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** An empty ACK or RST for a message id (also the answer to a CoAP ping). */
export function emptyMessage(type: 'ACK' | 'RST', messageId: number): Uint8Array {
  const out = new Uint8Array(4);
  out[0] = 0x40 | (type === 'ACK' ? 0x20 : 0x30);
  out[1] = 0;
  out[2] = messageId >> 8;
  out[3] = messageId & 0xff;
  return out;
}

/** Minimal big-endian encoding of an unsigned option value (0 is the empty string, RFC 7252 §3.2). */
export function encodeUint(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a uint32: ${value}`);
  if (value === 0) return EMPTY;
  if (value < 0x100) return Uint8Array.of(value);
  if (value < 0x10000) return Uint8Array.of(value >>> 8, value & 0xff);
  if (value < 0x1000000) return Uint8Array.of(value >>> 16, (value >>> 8) & 0xff, value & 0xff);
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export function decodeUint(value: Uint8Array): number {
  let v = 0;
  for (const b of value) v = v * 256 + b;
  return v;
}

export function getOption(options: readonly RawOption[], number: number): Uint8Array | undefined {
  for (const o of options) if (o.number === number) return o.value;
  return undefined;
}
export function getUintOption(options: readonly RawOption[], number: number): number | undefined {
  const v = getOption(options, number);
  return v === undefined ? undefined : decodeUint(v);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();
export function getStringOptions(options: readonly RawOption[], number: number): string[] {
  const out: string[] = [];
  for (const o of options) if (o.number === number) out.push(optionString(o.value));
  return out;
}

/** An option value as text; short ASCII (Uri-Path segments such as "3" or "0") without a TextDecoder call. */
function optionString(v: Uint8Array): string {
  if (v.length > 16) return utf8.decode(v);
  let s = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c >= 0x80) return utf8.decode(v);
    s += String.fromCharCode(c);
  }
  return s;
}
export function stringOptions(number: number, values: readonly string[]): RawOption[] {
  return values.map((v) => ({ number, value: utf8Encoder.encode(v) }));
}
/** The option for an optional uint value: none when the value is undefined. */
export function uintOptions(number: number, value: number | undefined): RawOption[] {
  return value === undefined ? [] : [{ number, value: encodeUint(value) }];
}

/** An option number is critical when odd (RFC 7252 §5.4.6). */
export function isCritical(number: number): boolean {
  return (number & 1) === 1;
}

/** A Block1/Block2 option value (RFC 7959 §2.2). */
export interface BlockOption {
  readonly num: number;
  readonly more: boolean;
  /** SZX 0..6: block size 2^(szx+4); 7 is reserved (BERT over TCP). */
  readonly szx: number;
}

export function decodeBlock(value: Uint8Array): BlockOption | undefined {
  if (value.length > 3) return undefined;
  const v = decodeUint(value);
  return { num: v >>> 4, more: (v & 0x08) !== 0, szx: v & 0x07 };
}
export function encodeBlock(block: BlockOption): Uint8Array {
  return encodeUint(block.num * 16 + (block.more ? 8 : 0) + block.szx);
}
export function blockSizeOf(szx: number): number {
  return 1 << (szx + 4);
}
/** The SZX of a block size (16..1024, a power of two). */
export function szxOf(size: number): number {
  const szx = Math.log2(size) - 4;
  if (!Number.isInteger(szx) || szx < 0 || szx > 6) throw new RangeError(`block size must be a power of two from 16 to 1024, got ${size}`);
  return szx;
}
