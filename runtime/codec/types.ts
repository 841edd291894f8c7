// The codec API's shared vocabulary: records, the resource lookup, content-format numbers, and value conversions every format uses.
import { BadRequestError, NotFoundError, ValueError } from '../errors.js';
import { INT64_MAX, INT64_MIN, UINT64_MAX } from '../model.js';
import type { Lwm2mPath, ObjectLink, ResourceContent, ResourceModel, ResourceType, ResourceValue } from '../model.js';

/** One resource value at a full path (objectId, instanceId, resourceId, and resourceInstanceId for multiple resources). */
export interface Lwm2mRecord {
  readonly path: Lwm2mPath;
  readonly value: ResourceValue;
  /**
   * When the value was captured, in seconds since the epoch (fractions allowed): SenML's resolved time (bt + t).
   * Only SenML carries it: a Send writes it, the SenML decoders set it when the payload has bt or t. A resolved time
   * below 2^28 is relative to now (RFC 8428 4.5.3), negative in the past.
   */
  readonly time?: number;
}

/**
 * What a Read of an instance or object hands the encoders: an instance's resources as it holds them (a value, or a
 * Map of resource instances), in the order they go out. Encoding from this skips building one record per value.
 */
export interface InstanceContent {
  readonly instanceId: number;
  readonly resources: ReadonlyMap<number, ResourceContent>;
}

/** Finds the model of a resource, for types and multiplicity; undefined when unknown. */
export type ResourceLookup = (objectId: number, resourceId: number) => ResourceModel | undefined;

/** CoAP Content-Format numbers of the LwM2M data formats (IANA CoAP Content-Formats registry). */
export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  TLV: 11542,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  LWM2M_JSON: 11543,
  LWM2M_CBOR: 11544,
} as const;
export type ContentFormatNumber = (typeof ContentFormat)[keyof typeof ContentFormat];

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Dates exist for ±8.64e15 ms, so Time seconds beyond ±8.64e12 cannot be represented. */
const MAX_TIME_SECONDS = 8.64e12;

export const utf8Encoder = new TextEncoder();
/** fatal: invalid UTF-8 in a String resource is a malformed payload, not something to replace silently. */
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A Map's entries in ascending key order: as they are when already sorted (the usual case), else sorted. */
export function sortedEntries<V>(m: ReadonlyMap<number, V>): Iterable<[number, V]> {
  let prev = -1;
  for (const k of m.keys()) {
    if (!(k > prev)) return [...m.entries()].sort((a, b) => a[0] - b[0]);
    prev = k;
  }
  return m.entries();
}

export function pathDepth(p: Lwm2mPath): 1 | 2 | 3 | 4 {
  if (p.instanceId === undefined) return 1;
  if (p.resourceId === undefined) return 2;
  if (p.resourceInstanceId === undefined) return 3;
  return 4;
}

/** True when `p` is `base` or lies below it. */
export function isUnder(base: Lwm2mPath, p: Lwm2mPath): boolean {
  if (p.objectId !== base.objectId) return false;
  if (base.instanceId === undefined) return true;
  if (p.instanceId !== base.instanceId) return false;
  if (base.resourceId === undefined) return true;
  if (p.resourceId !== base.resourceId) return false;
  if (base.resourceInstanceId === undefined) return true;
  return p.resourceInstanceId === base.resourceInstanceId;
}

/** Builds a path without undefined members, as exactOptionalPropertyTypes wants. */
export function makePath(objectId: number, instanceId?: number, resourceId?: number, resourceInstanceId?: number): Lwm2mPath {
  if (instanceId === undefined) return { objectId };
  if (resourceId === undefined) return { objectId, instanceId };
  if (resourceInstanceId === undefined) return { objectId, instanceId, resourceId };
  return { objectId, instanceId, resourceId, resourceInstanceId };
}

/** The model of a decoded resource; an unknown resource is a 4.04, as the brief of every LwM2M Write says. */
export function requireModel(lookup: ResourceLookup, path: Lwm2mPath): ResourceModel {
  if (path.resourceId === undefined) throw new BadRequestError('a value needs a resource path', path);
  const m = lookup(path.objectId, path.resourceId);
  if (!m) throw new NotFoundError('unknown resource', makePath(path.objectId, path.instanceId, path.resourceId));
  if (m.type === 'none') throw new ValueError('an executable resource has no value', path);
  return m;
}

/** Checks that a decoded value's path agrees with the resource's multiplicity. */
export function checkMultiplicity(model: ResourceModel, path: Lwm2mPath): void {
  if (model.multiple && path.resourceInstanceId === undefined) {
    throw new BadRequestError('a multiple resource needs resource instance ids', path);
  }
  if (!model.multiple && path.resourceInstanceId !== undefined) {
    throw new BadRequestError('a single resource has no resource instances', path);
  }
}

/** The type used to encode a value: the model's, or one inferred from the value when the resource is unknown. */
export function encodeType(lookup: ResourceLookup, path: Lwm2mPath, value: ResourceValue): ResourceType {
  const m = path.resourceId === undefined ? undefined : lookup(path.objectId, path.resourceId);
  if (m) {
    if (m.type === 'none') throw new ValueError('an executable resource has no value', path);
    return m.type;
  }
  switch (typeof value) {
    case 'string': return 'String';
    case 'boolean': return 'Boolean';
    case 'bigint': return 'Integer';
    case 'number': return Number.isInteger(value) ? 'Integer' : 'Float';
    default:
      if (value instanceof Uint8Array) return 'Opaque';
      if (value instanceof Date) return 'Time';
      return 'Objlnk';
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Date) return 'a Date';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

// ---- values going out: accept what the model allows, refuse type mismatches with a ValueError ----

/** An Integer/Unsigned Integer value as bigint, checked against the 64-bit range. */
export function outInteger(v: ResourceValue, unsigned: boolean, path: Lwm2mPath): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else throw new ValueError(`expected an integer, got ${describe(v)}`, path);
  if (unsigned ? n < 0n || n > UINT64_MAX : n < INT64_MIN || n > INT64_MAX) {
    throw new ValueError(`value ${n} does not fit a ${unsigned ? 'unsigned ' : ''}64-bit integer`, path);
  }
  return n;
}

/** A value of an integer type as a number when safe (the fast path), else a checked bigint. */
export function outIntegerFast(v: ResourceValue, unsigned: boolean, path: Lwm2mPath): number | bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && !(unsigned && v < 0)) return v;
  return outInteger(v, unsigned, path);
}

export function outFloat(v: ResourceValue, path: Lwm2mPath): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  throw new ValueError(`expected a finite number, got ${describe(v)}`, path);
}

export function outBoolean(v: ResourceValue, path: Lwm2mPath): boolean {
  if (typeof v !== 'boolean') throw new ValueError(`expected a boolean, got ${describe(v)}`, path);
  return v;
}

export function outString(v: ResourceValue, path: Lwm2mPath): string {
  if (typeof v !== 'string') throw new ValueError(`expected a string, got ${describe(v)}`, path);
  return v;
}

export function outOpaque(v: ResourceValue, path: Lwm2mPath): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ValueError(`expected bytes, got ${describe(v)}`, path);
  return v;
}

/** Time goes out as integer seconds since the epoch (fractions of a second are dropped, toward the past). */
export function outTime(v: ResourceValue, path: Lwm2mPath): number {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw new ValueError('invalid Date', path);
    return Math.floor(ms / 1000);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new ValueError(`expected a Date, got ${describe(v)}`, path);
}

export function outObjlnk(v: ResourceValue, path: Lwm2mPath): ObjectLink {
  const l = v as ObjectLink;
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date)
    && isU16(l.objectId) && isU16(l.instanceId)) return l;
  throw new ValueError(`expected an object link of 16-bit ids, got ${describe(v)}`, path);
}

export function isU16(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

// ---- values coming in: typed per the model, malformed → 4.00 ----

/** A decoded integer, normalized (number when safe, bigint beyond 2^53) and checked against the 64-bit range. */
export function inInteger(n: number | bigint, unsigned: boolean, path: Lwm2mPath): number | bigint {
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n)) {
      throw new ValueError(`${n} is not an integer that can be carried exactly`, path);
    }
    if (unsigned && n < 0) throw new ValueError(`${n} is negative; the resource is an Unsigned Integer`, path);
    return n;
  }
  if (unsigned ? n < 0n || n > UINT64_MAX : n < INT64_MIN || n > INT64_MAX) {
    throw new ValueError(`${n} does not fit a ${unsigned ? 'unsigned ' : ''}64-bit integer`, path);
  }
  return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n;
}

export function inTime(seconds: number | bigint, path: Lwm2mPath): Date {
  const s = typeof seconds === 'bigint' ? Number(seconds) : seconds;
  if (!Number.isInteger(s) || Math.abs(s) > MAX_TIME_SECONDS) {
    throw new ValueError(`time ${seconds} is not an integer number of seconds a Date can hold`, path);
  }
  return new Date(s * 1000);
}

/** "3:0" ⇄ {objectId: 3, instanceId: 0}: the text form of Objlnk (plain text, SenML vlo, CBOR). */
export function formatObjlnk(l: ObjectLink): string {
  return `${l.objectId}:${l.instanceId}`;
}
export function parseObjlnk(text: string, path: Lwm2mPath): ObjectLink {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  const objectId = m ? Number(m[1]) : NaN;
  const instanceId = m ? Number(m[2]) : NaN;
  if (!isU16(objectId) || !isU16(instanceId)) throw new ValueError(`${describe(text)} is not an object link "objectId:instanceId"`, path);
  return { objectId, instanceId };
}

// ---- base64 (RFC 4648): SenML vd is base64url without padding, plain text Opaque is base64 ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_VALUES[B64.charCodeAt(i)] = i;
  B64_VALUES[B64URL.charCodeAt(i)] = i;
}

export function toBase64(bytes: Uint8Array, url: boolean): string {
  const alphabet = url ? B64URL : B64;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (url ? '' : '==');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (url ? '' : '=');
  }
  return out;
}

/** Decodes base64 or base64url, padded or not (peers differ); anything else is a ValueError. */
export function fromBase64(text: string, path: Lwm2mPath): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */ && text.length - end < 2) end--;
  if ((text.length !== end && text.length % 4 !== 0) || end % 4 === 1) {
    throw new ValueError('malformed base64', path);
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUES[c]! : -1;
    if (v < 0) throw new ValueError('malformed base64', path);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
