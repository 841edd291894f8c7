// Model-driven value checks: type, range, length and enumeration, written once for generated setters, codecs and requests.
import { ValueError } from '../errors.js';
import { INT64_MAX, INT64_MIN, UINT64_MAX } from '../model.js';
import type {
  Bound, EnumMember, Lwm2mPath, ObjectLink, Range, ResourceContent, ResourceModel, ResourceValue,
} from '../model.js';


/** Safe integers as number, everything else as bigint: the one integer representation the runtime keeps. */
export function normalizeInteger(v: number | bigint): number | bigint {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return v;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function inInterval(v: Bound, min: Bound | undefined, max: Bound | undefined): boolean {
  // number and bigint compare exactly with < and > in JavaScript.
  return (min === undefined || !(v < min)) && (max === undefined || !(v > max));
}

function matchesMember(v: Bound | string, m: EnumMember): boolean {
  if (typeof m.value === 'string') return typeof v === 'string' && v === m.value;
  if (typeof v === 'string') return false;
  if ('to' in m && m.to !== undefined) return inInterval(v, m.value, m.to);
  // == compares a number with a bigint exactly; both operands are numeric here.
  return v == m.value;
}

function checkNumericRange(v: Bound, range: Range | undefined, path: Lwm2mPath | undefined): void {
  if (!range) return;
  if (range.kind === 'interval' && !inInterval(v, range.min, range.max)) {
    throw new ValueError(`value ${describe(v)} is outside the range ${range.text}`, path);
  }
  if (range.kind === 'enum' && !range.members.some((m) => matchesMember(v, m))) {
    throw new ValueError(`value ${describe(v)} is not one of ${range.text}`, path);
  }
}

function checkLength(bytes: number, v: unknown, range: Range | undefined, path: Lwm2mPath | undefined): void {
  if (range?.kind === 'length' && (bytes < range.min || bytes > range.max || (range.values && !range.values.includes(bytes)))) {
    throw new ValueError(`value ${v instanceof Uint8Array ? '' : `${describe(v)} `}is ${bytes} bytes long, outside ${range.text}`, path);
  }
}

/**
 * Whether an Integer or Unsigned Integer resource is kept as a bigint: only when its declared range needs values
 * beyond 2^53 (a bound the model holds as a bigint). Every other integer resource is a `number`, in generated types
 * and in the runtime alike.
 */
export function isBigintResource(resource: ResourceModel): boolean {
  if (resource.type !== 'Integer' && resource.type !== 'Unsigned Integer') return false;
  const range = resource.range;
  // Model bounds are numbers exactly when they are safe (bigint beyond 2^53), so the bound's type says it all.
  if (range?.kind === 'interval') return typeof range.min === 'bigint' || typeof range.max === 'bigint';
  if (range?.kind === 'enum') return range.members.some((m) => typeof m.value === 'bigint' || ('to' in m && typeof m.to === 'bigint'));
  return false;
}

function checkInteger(v: unknown, unsigned: boolean, big: boolean, path: Lwm2mPath | undefined): number | bigint {
  let n: number | bigint;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new ValueError(`value ${describe(v)} is not a safe integer${big ? ' (use a bigint beyond 2^53)' : ''}`, path);
    n = big ? BigInt(v) : v;
  } else if (typeof v === 'bigint') {
    if (v < (unsigned ? 0n : INT64_MIN) || v > (unsigned ? UINT64_MAX : INT64_MAX)) {
      throw new ValueError(`value ${v} does not fit a ${unsigned ? 'unsigned ' : ''}64-bit integer`, path);
    }
    // A number resource never holds a value a number cannot represent exactly: refused, never rounded.
    if (!big && (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER))) {
      throw new ValueError(`value ${v} is beyond the safe integer range ±(2^53-1) of this resource (its range needs no more)`, path);
    }
    n = big ? v : Number(v);
  } else {
    throw new ValueError(`expected an integer, got ${describe(v)}`, path);
  }
  if (unsigned && n < 0) throw new ValueError(`value ${describe(n)} is negative; the resource is an Unsigned Integer`, path);
  return n;
}

/**
 * Checks one resource instance value against the resource's type and range and returns it normalized
 * (integers as number, or as bigint where the range needs more than 2^53). Throws ValueError naming the path.
 */
export function checkValue(resource: ResourceModel, value: unknown, path?: Lwm2mPath): ResourceValue {
  const range = resource.range;
  switch (resource.type) {
    case 'String':
    case 'Corelnk': {
      if (typeof value !== 'string') throw new ValueError(`expected a string, got ${describe(value)}`, path);
      // Only a length limit needs the UTF-8 size; a read hook's string is checked at every read.
      if (range?.kind === 'length') checkLength(Buffer.byteLength(value, 'utf8'), value, range, path);
      if (range?.kind === 'enum' && range.members.every((m) => typeof m.value === 'string')
        && !range.members.some((m) => matchesMember(value, m))) {
        throw new ValueError(`value ${describe(value)} is not one of ${range.text}`, path);
      }
      return value;
    }
    case 'Integer':
    case 'Unsigned Integer': {
      const n = checkInteger(value, resource.type === 'Unsigned Integer', isBigintResource(resource), path);
      checkNumericRange(n, range, path);
      return n;
    }
    case 'Float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new ValueError(`expected a finite number, got ${describe(value)}`, path);
      }
      checkNumericRange(value, range, path);
      return value;
    }
    case 'Boolean':
      if (typeof value !== 'boolean') throw new ValueError(`expected a boolean, got ${describe(value)}`, path);
      return value;
    case 'Opaque':
      if (!(value instanceof Uint8Array)) throw new ValueError(`expected bytes (Uint8Array), got ${describe(value)}`, path);
      checkLength(value.length, value, range, path);
      return value;
    case 'Time': {
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
        throw new ValueError(`expected a valid Date, got ${describe(value)}`, path);
      }
      checkNumericRange(Math.floor(value.getTime() / 1000), range, path);
      return value;
    }
    case 'Objlnk': {
      const l = value as ObjectLink | null;
      if (typeof l !== 'object' || l === null || !isU16(l.objectId) || !isU16(l.instanceId)) {
        throw new ValueError(`expected an object link {objectId, instanceId} of 16-bit ids, got ${describe(value)}`, path);
      }
      return { objectId: l.objectId, instanceId: l.instanceId };
    }
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

function isU16(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

/**
 * Checks a whole resource: one value for a single resource, the instances of a multiple resource
 * (a Map by resource instance id, or an array taken as instances 0..n-1). Returns a private copy.
 */
export function checkContent(resource: ResourceModel, content: unknown, path?: Lwm2mPath): ResourceContent {
  if (!resource.multiple) return checkValue(resource, content, path);
  let entries: Iterable<[number, unknown]>;
  if (content instanceof Map) entries = content as Map<number, unknown>;
  else if (Array.isArray(content)) entries = content.map((v, i) => [i, v] as [number, unknown]);
  else throw new ValueError(`expected the instances of a multiple resource (a Map or an array), got ${describe(content)}`, path);
  const out = new Map<number, ResourceValue>();
  for (const [riid, v] of entries) {
    const riPath = path ? { ...path, resourceInstanceId: riid } : undefined;
    if (!isU16(riid)) throw new ValueError(`resource instance id ${describe(riid)} is not a 16-bit integer`, riPath);
    out.set(riid, checkValue(resource, v, riPath));
  }
  return out;
}

/** Structural equality of two resource values, used to tell a real change from a rewrite of the same value. */
export function sameValue(a: ResourceValue | undefined, b: ResourceValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (typeof a === 'object' && typeof b === 'object' && !(a instanceof Uint8Array) && !(b instanceof Uint8Array)
    && !(a instanceof Date) && !(b instanceof Date)) {
    return a.objectId === b.objectId && a.instanceId === b.instanceId;
  }
  return false;
}

export function sameContent(a: ResourceContent | undefined, b: ResourceContent | undefined): boolean {
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!sameValue(v, b.get(k))) return false;
    return true;
  }
  return sameValue(a as ResourceValue | undefined, b as ResourceValue | undefined);
}
