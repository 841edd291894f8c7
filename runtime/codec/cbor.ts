// CBOR (RFC 8949) for SenML CBOR and LwM2M CBOR: our own small encoder, and cbor-x behind a guard for decoding.
import { Decoder } from 'cbor-x';
import { BadRequestError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';
import { ByteWriter } from './writer.js';

/*
 * The encoder is our own rather than cbor-x's because LwM2M needs three things cbor-x does not give per value:
 * float32 exactly when lossless (cbor-x's float32 modes round), integers beyond 2^32 as integers (cbor-x writes
 * large numbers as float64), and unsigned values up to 2^64-1 from bigint. Every head and float takes its shortest
 * exact form (RFC 8949 preferred serialization); map keys keep the caller's order.
 */
export class CborWriter extends ByteWriter {
  /** A major type with its argument in the shortest form. */
  head(major: number, n: number | bigint): void {
    const m = major << 5;
    if (typeof n === 'bigint') {
      if (n <= 0xffffffffn) return this.head(major, Number(n));
      this.ensure(9);
      this.buf[this.length] = m | 27;
      this.view.setBigUint64(this.length + 1, n);
      this.length += 9;
      return;
    }
    this.ensure(9);
    const b = this.buf;
    if (n < 24) {
      b[this.length++] = m | n;
    } else if (n <= 0xff) {
      b[this.length++] = m | 24;
      b[this.length++] = n;
    } else if (n <= 0xffff) {
      b[this.length] = m | 25;
      this.view.setUint16(this.length + 1, n);
      this.length += 3;
    } else if (n <= 0xffffffff) {
      b[this.length] = m | 26;
      this.view.setUint32(this.length + 1, n);
      this.length += 5;
    } else {
      b[this.length] = m | 27;
      const hi = Math.floor(n / 4294967296);
      this.view.setUint32(this.length + 1, hi);
      this.view.setUint32(this.length + 5, n - hi * 4294967296);
      this.length += 9;
    }
  }

  /** An integer (the caller has checked its range: -2^64 .. 2^64-1). */
  int(n: number | bigint): void {
    if (typeof n === 'bigint') {
      if (n < 0n) this.head(1, -1n - n);
      else this.head(0, n);
    } else if (n < 0) {
      this.head(1, -1 - n);
    } else {
      this.head(0, n);
    }
  }

  float(f: number): void {
    const half = Math.fround(f) === f ? float16Bits(f) : undefined;
    if (half !== undefined) {
      this.ensure(3);
      this.buf[this.length] = 0xf9;
      this.view.setUint16(this.length + 1, half);
      this.length += 3;
    } else if (Math.fround(f) === f || Number.isNaN(f)) {
      this.ensure(5);
      this.buf[this.length] = 0xfa;
      this.view.setFloat32(this.length + 1, f);
      this.length += 5;
    } else {
      this.ensure(9);
      this.buf[this.length] = 0xfb;
      this.view.setFloat64(this.length + 1, f);
      this.length += 9;
    }
  }

  text(s: string): void {
    const len = s.length;
    if (len <= 64 && isAscii(s)) {
      // Short ASCII, the usual name or value: its byte length is known, so the head goes first and no move is needed.
      this.head(3, len);
      this.ensure(len);
      const b = this.buf;
      const start = this.length;
      for (let i = 0; i < len; i++) b[start + i] = s.charCodeAt(i);
      this.length = start + len;
      return;
    }
    // Reserve the longest head a payload this size can need, write, then move the text back if the head is shorter.
    const max = s.length * 3;
    const reserve = max < 24 ? 1 : max <= 0xff ? 2 : max <= 0xffff ? 3 : 5;
    const start = this.length;
    // +9: head() below ensures room for its longest form, which must not trigger a grow that drops the text.
    this.ensure(reserve + max + 9);
    this.length += reserve;
    const n = this.utf8(s);
    const need = n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
    if (need < reserve) this.buf.copyWithin(start + need, start + reserve, this.length);
    this.length = start;
    this.head(3, n);
    this.length += n;
  }

  byteString(b: Uint8Array): void {
    this.head(2, b.length);
    this.bytes(b);
  }

  bool(v: boolean): void {
    this.u8(v ? 0xf5 : 0xf4);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

const f32 = new DataView(new ArrayBuffer(4));

/** The IEEE half-precision bits of a float32-exact finite value, or undefined when half precision would round it. */
function float16Bits(f: number): number | undefined {
  if (!Number.isFinite(f)) return undefined;
  f32.setFloat32(0, f);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127;
  const mant = bits & 0x7fffff;
  if (exp === -127 && mant === 0) return sign; // ±0
  if (exp >= -14 && exp <= 15) return (mant & 0x1fff) === 0 ? sign | ((exp + 15) << 10) | (mant >> 13) : undefined;
  if (exp >= -24 && exp < -14) {
    // Subnormal half: the value is an integer multiple of 2^-24 below 2^-14.
    const h = Math.abs(f) * 2 ** 24;
    return Number.isInteger(h) ? sign | h : undefined;
  }
  return undefined;
}

/** What decoding yields: maps keep non-string keys, byte strings stay bytes, 64-bit integers come out as bigint. */
export type CborValue = unknown;

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

/** Decodes exactly one CBOR data item; anything cbor-x refuses (or leaves unread) is a 4.00. */
export function decodeCbor(payload: Uint8Array, path: Lwm2mPath | undefined): CborValue {
  if (payload.length === 0) throw new BadRequestError('empty CBOR payload', path);
  try {
    return decoder.decode(payload);
  } catch (e) {
    throw new BadRequestError(`malformed CBOR: ${e instanceof Error ? e.message : String(e)}`, path);
  }
}
