// Stamps an encoded SenML pack (JSON 110, CBOR 112) with a base time, so a notification sent late says when its values were read.
import { CborWriter } from '../codec/cbor.js';
import { ContentFormat } from '../codec/index.js';

/** The formats that can carry a time (RFC 8428 `bt`); TLV, text, opaque, LwM2M CBOR and LwM2M JSON go out as they are. */
export function carriesTime(format: number | undefined): boolean {
  return format === ContentFormat.SENML_JSON || format === ContentFormat.SENML_CBOR;
}

/** Seconds since the epoch as SenML writes them: whole when the time is, else with milliseconds. */
function seconds(timeMs: number): number {
  return Math.round(timeMs) / 1000;
}

/** A CBOR head at `at`: its major type, argument and length in bytes (arguments up to 32 bits: a pack's counts). */
function head(b: Uint8Array, at: number): { major: number; arg: number; length: number } | undefined {
  if (at >= b.length) return undefined;
  const major = b[at]! >> 5;
  const info = b[at]! & 31;
  if (info < 24) return { major, arg: info, length: 1 };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (info === 24 && at + 1 < b.length) return { major, arg: b[at + 1]!, length: 2 };
  if (info === 25 && at + 2 < b.length) return { major, arg: view.getUint16(at + 1), length: 3 };
  if (info === 26 && at + 4 < b.length) return { major, arg: view.getUint32(at + 1), length: 5 };
  return undefined;
}

/**
 * The pack with `bt` (the base time, seconds since the epoch) added to its first record: every record of the pack
 * then has that time (RFC 8428 §4.5.3), as the records of a notification share the moment they were read. A payload
 * in another format, an empty pack, or one whose first record has a base time already comes back unchanged.
 */
export function stampBaseTime(format: number | undefined, payload: Uint8Array, timeMs: number): Uint8Array {
  const bt = seconds(timeMs);
  if (format === ContentFormat.SENML_JSON) {
    const text = new TextDecoder().decode(payload);
    const m = /^\s*\[\s*\{/.exec(text);
    if (!m || /^\s*"bt"\s*:/.test(text.slice(m[0].length))) return payload;
    const rest = text.slice(m[0].length);
    const sep = /^\s*\}/.test(rest) ? '' : ',';
    return new TextEncoder().encode(`[{"bt":${String(bt)}${sep}${rest}`);
  }
  if (format === ContentFormat.SENML_CBOR) {
    const array = head(payload, 0);
    const map = array && array.major === 4 && array.arg > 0 ? head(payload, array.length) : undefined;
    if (!array || !map || map.major !== 5) return payload;
    const after = array.length + map.length;
    // -3 (bt) as CBOR is 0x22: a first record that starts with it is stamped already.
    if (payload[after] === 0x22) return payload;
    const w = new CborWriter(payload.length + 16);
    w.bytes(payload.subarray(0, array.length));
    w.head(5, map.arg + 1);
    w.int(-3);
    if (Number.isInteger(bt)) w.int(bt);
    else w.float(bt);
    w.bytes(payload.subarray(after));
    return w.result();
  }
  return payload;
}
