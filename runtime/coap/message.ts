// CoAP message framing (RFC 7252 §3) on top of coap-packet: strict validation of incoming datagrams, option helpers, Block options.
import * as packet from 'coap-packet';
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

const METHOD_CODES: Readonly<Record<string, string>> = {
  '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE', '0.05': 'FETCH', '0.06': 'PATCH', '0.07': 'iPATCH',
};
const CODE_OF_METHOD: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(METHOD_CODES).map(([code, method]) => [method, code]),
);

export function methodOfCode(code: string): string | undefined {
  return METHOD_CODES[code];
}
export function codeOfMethod(method: string): string | undefined {
  return CODE_OF_METHOD[method];
}

// coap-packet names the options it knows and stringifies the numbers of the others; map both back to numbers.
const NUMBER_OF_NAME: Readonly<Record<string, number>> = {
  'If-Match': 1, 'Uri-Host': 3, ETag: 4, 'If-None-Match': 5, Observe: 6, 'Uri-Port': 7, 'Location-Path': 8,
  OSCORE: 9, 'Uri-Path': 11, 'Content-Format': 12, 'Max-Age': 14, 'Uri-Query': 15, 'Hop-Limit': 16, Accept: 17,
  'Q-Block1': 19, 'Location-Query': 20, Block2: 23, Block1: 27, Size2: 28, 'Q-Block2': 31, 'Proxy-Uri': 35,
  'Proxy-Scheme': 39, Size1: 60, 'No-Response': 258, 'OCF-Accept-Content-Format-Version': 2049,
  'OCF-Content-Format-Version': 2053,
};

function optionNumberOf(name: string | number): number {
  if (typeof name === 'number') return name;
  return NUMBER_OF_NAME[name] ?? Number.parseInt(name, 10);
}

/**
 * Walks the framing of a datagram and says whether it is a well-formed RFC 7252 message. coap-packet's parser
 * accepts truncated option values, token lengths 9..14 and a payload marker with no payload; RFC 7252 calls all
 * of these message format errors, so they are refused here before coap-packet sees the bytes.
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

/** Parses a datagram; undefined for anything malformed (never throws). */
export function decodeMessage(data: Uint8Array): CoapMessage | undefined {
  if (!isWellFormed(data)) return undefined;
  try {
    const p = packet.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const type: MessageType = p.confirmable ? 'CON' : p.ack ? 'ACK' : p.reset ? 'RST' : 'NON';
    const options: RawOption[] = p.options.map((o) => ({ number: optionNumberOf(o.name), value: o.value }));
    return { type, code: p.code, messageId: p.messageId, token: p.token, options, payload: p.payload };
  } catch {
    return undefined;
  }
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Encodes a message; options may come in any order (they are sorted stably, so repeated options keep their order). */
export function encodeMessage(message: CoapMessage, maxLength = 65507): Uint8Array {
  return packet.generate(
    {
      code: message.code,
      messageId: message.messageId,
      token: toBuffer(message.token),
      options: message.options.map((o) => ({ name: String(o.number), value: toBuffer(o.value) })),
      payload: toBuffer(message.payload),
      confirmable: message.type === 'CON',
      ack: message.type === 'ACK',
      reset: message.type === 'RST',
    },
    maxLength,
  );
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
  const bytes: number[] = [];
  let v = value;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Uint8Array.from(bytes);
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
  for (const o of options) if (o.number === number) out.push(utf8.decode(o.value));
  return out;
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
