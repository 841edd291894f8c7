// The store's file format: sections as JSON with tagged bytes, dates and bigints, behind a header that carries a checksum.
import { createHash } from 'node:crypto';
import { StoreError, type StoredSections, type StoredValue } from './types.js';

const MAGIC = 'lwm2m-gen-state';
const VERSION = 1;

function toJson(value: StoredValue | undefined): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return { $date: value.getTime() };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (Array.isArray(value)) return value.map((v: StoredValue) => toJson(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} cannot be stored`);
  return value;
}

function fromJson(value: unknown): StoredValue {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const { $bytes, $date, $bigint } = o;
      if (typeof $bytes === 'string') return new Uint8Array(Buffer.from($bytes, 'base64'));
      if (typeof $date === 'number') return new Date($date);
      if (typeof $bigint === 'string') return BigInt($bigint);
    }
    const out: Record<string, StoredValue> = {};
    for (const k of keys) out[k] = fromJson(o[k]);
    return out;
  }
  return value as StoredValue;
}

function digest(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** One header line (`lwm2m-gen-state 1 <sha256 of the body>`), then the sections as JSON. */
export function encodeSections(sections: StoredSections): string {
  const body = JSON.stringify(toJson(sections));
  return `${MAGIC} ${VERSION} ${digest(body)}\n${body}\n`;
}

/** Reads what encodeSections wrote; a torn, edited or foreign file is StoreError('corrupt') naming `where`. */
export function decodeSections(text: string, where: string): StoredSections {
  const newline = text.indexOf('\n');
  const header = (newline < 0 ? text : text.slice(0, newline)).split(' ');
  if (header[0] !== MAGIC || header.length !== 3) throw new StoreError('corrupt', `${where}: not a lwm2m-gen state file (no "${MAGIC}" header)`);
  if (header[1] !== String(VERSION)) throw new StoreError('unsupported', `${where}: state format version ${header[1]}, this runtime reads version ${VERSION}`);
  const body = text.slice(newline + 1).replace(/\n$/, '');
  if (digest(body) !== header[2]) throw new StoreError('corrupt', `${where}: the checksum does not match the contents (a torn or edited file)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new StoreError('corrupt', `${where}: the contents are not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new StoreError('corrupt', `${where}: the contents are not a set of sections`);
  return fromJson(parsed) as StoredSections;
}
