// A growable byte buffer for the binary encoders (TLV, CBOR): one allocation per payload in the common case.
import { utf8Encoder } from './types.js';

export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Writes a string as UTF-8 and returns its byte length. */
  utf8(s: string): number {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    this.ensure(s.length * 3);
    const b = this.buf;
    const start = this.length;
    // Short ASCII (names, most resource strings) is copied by hand: no subarray view, no encoder call.
    if (s.length <= 64) {
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === s.length) {
        this.length = start + i;
        return i;
      }
    }
    const { written } = utf8Encoder.encodeInto(s, b.subarray(start));
    this.length = start + written;
    return written;
  }

  /** Inserts `n` bytes at `at`, moving what follows; used to prepend a header once a nested length is known. */
  insertGap(at: number, n: number): void {
    this.ensure(n);
    this.buf.copyWithin(at + n, at, this.length);
    this.length += n;
  }

  /**
   * Empties the writer for another payload. Encoders that run often keep one writer (encoding is synchronous and
   * never nests), saving a buffer and a DataView per payload; a buffer grown past `keep` bytes is let go.
   */
  reset(keep = 16384): this {
    this.length = 0;
    if (this.buf.length > keep) {
      this.buf = new Uint8Array(256);
      this.view = new DataView(this.buf.buffer);
    }
    return this;
  }

  /** A copy of the bytes written: the writer may be reset and reused. */
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
