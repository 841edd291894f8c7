// SenML JSON (110) and SenML CBOR (112), RFC 8428 as LwM2M 1.1 uses it: one record per resource (instance), named by path.
import { BadRequestError, ValueError } from '../errors.js';
import { formatPath, parsePath, type Lwm2mPath, type ResourceModel, type ResourceType, type ResourceValue } from '../model.js';
import { CborWriter, decodeCbor } from './cbor.js';
import { JsonNumber, parseJson, type JsonValue } from './json.js';
import {
  checkMultiplicity, encodeType, formatObjlnk, fromBase64, inInteger, inTime, isUnder, outBoolean, outFloat,
  outIntegerFast, outObjlnk, outOpaque, outString, outTime, parseObjlnk, pathDepth, requireModel, sortedEntries, toBase64,
  utf8Decoder, utf8Encoder, type InstanceContent, type Lwm2mRecord, type ResourceLookup,
} from './types.js';

/** RFC 8428 section 6 integer labels for SenML CBOR; LwM2M's vlo has no integer label and stays "vlo". */
export const SenmlLabel = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 } as const;
const LABEL_NAMES = new Map<number, string>(Object.entries(SenmlLabel).map(([k, v]) => [v, k]));

type ValueField = 'v' | 'vs' | 'vb' | 'vd' | 'vlo';
/** A value as a SenML field: numbers keep bigint for 64-bit integers, vd keeps bytes (base64url only in JSON). */
type SenmlOut = { field: ValueField; value: number | bigint | string | boolean | Uint8Array; float?: boolean };

function senmlValue(lookup: ResourceLookup, r: Lwm2mRecord): SenmlOut {
  const { path, value } = r;
  const type = encodeType(lookup, path, value);
  switch (type) {
    case 'String':
    case 'Corelnk':
      return { field: 'vs', value: outString(value, path) };
    case 'Integer':
    case 'Unsigned Integer':
      return { field: 'v', value: outIntegerFast(value, type === 'Unsigned Integer', path) };
    case 'Float':
      return { field: 'v', value: outFloat(value, path), float: true };
    case 'Time':
      return { field: 'v', value: outTime(value, path) };
    case 'Boolean':
      return { field: 'vb', value: outBoolean(value, path) };
    case 'Opaque':
      return { field: 'vd', value: outOpaque(value, path) };
    case 'Objlnk':
      return { field: 'vlo', value: formatObjlnk(outObjlnk(value, path)) };
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

/**
 * The base name for a payload at basePath, and each record's name relative to it. At the root (a composite
 * operation, records of several objects) there is no base name: each record names its full path.
 */
function names(basePath: Lwm2mPath | undefined, records: readonly Lwm2mRecord[]): { bn: string | undefined; n: Array<string | undefined> } {
  if (basePath === undefined) return { bn: undefined, n: records.map((r) => formatPath(r.path)) };
  const base = formatPath(basePath);
  if (records.length === 1 && pathDepth(records[0]!.path) === pathDepth(basePath)) return { bn: base, n: [undefined] };
  const prefix = base.length + 1;
  return { bn: `${base}/`, n: records.map((r) => formatPath(r.path).slice(prefix)) };
}

function inside(basePath: Lwm2mPath | undefined, records: readonly Lwm2mRecord[]): readonly Lwm2mRecord[] {
  const under = (r: Lwm2mRecord): boolean => basePath === undefined || isUnder(basePath, r.path);
  const rs = records.every(under) ? records : records.filter(under);
  for (const r of rs) {
    if (r.path.resourceId === undefined) throw new ValueError('a record needs a resource path', r.path);
  }
  return rs;
}

/**
 * SenML times (RFC 8428 4.5.3), written only when a record has a time or a base time is given: `bt` on the first
 * record (the base time, else the first record's time), and on each record its offset `t` from it, to the
 * millisecond, left out when 0. A record without a time then reads as taken at the base time.
 */
function times(records: readonly Lwm2mRecord[], baseTime: number | undefined): { bt: number | undefined; t: Array<number | undefined> } {
  const bt = baseTime ?? records.find((r) => r.time !== undefined)?.time;
  if (bt === undefined) return { bt: undefined, t: [] };
  if (!Number.isFinite(bt)) throw new ValueError(`SenML base time ${bt} is not a finite number`);
  return {
    bt,
    t: records.map((r) => {
      if (r.time === undefined) return undefined;
      if (!Number.isFinite(r.time)) throw new ValueError(`SenML time ${r.time} is not a finite number`, r.path);
      const offset = Math.round((r.time - bt) * 1000) / 1000;
      return offset === 0 ? undefined : offset;
    }),
  };
}

/**
 * `basePath` undefined: the root of a composite operation (records of any objects, full names). `baseTime` (seconds
 * since the epoch) and records' `time` add SenML's bt and t (see times()).
 */
export function encodeSenmlJson(basePath: Lwm2mPath | undefined, records: readonly Lwm2mRecord[], lookup: ResourceLookup, baseTime?: number): Uint8Array {
  const rs = inside(basePath, records);
  const { bn, n } = names(basePath, rs);
  const { bt, t } = times(rs, baseTime);
  const parts: string[] = [];
  rs.forEach((r, i) => {
    const { field, value } = senmlValue(lookup, r);
    let s = i === 0 && bn !== undefined ? `{"bn":${JSON.stringify(bn)}` : '{';
    if (i === 0 && bt !== undefined) s += `${s.length > 1 ? ',' : ''}"bt":${String(bt)}`;
    const name = n[i];
    if (name !== undefined) s += `${s.length > 1 ? ',' : ''}"n":${JSON.stringify(name)}`;
    if (t[i] !== undefined) s += `${s.length > 1 ? ',' : ''}"t":${String(t[i])}`;
    const sep = s.length > 1 ? ',' : '';
    if (value instanceof Uint8Array) s += `${sep}"vd":"${toBase64(value, true)}"`;
    else if (typeof value === 'string') s += `${sep}"${field}":${JSON.stringify(value)}`;
    else s += `${sep}"${field}":${String(value)}`;
    parts.push(`${s}}`);
  });
  return utf8Encoder.encode(`[${parts.join(',')}]`);
}

/** A SenML time as CBOR: an integer when it is one, else the shortest lossless float. */
function cborNumber(w: CborWriter, v: number): void {
  if (Number.isSafeInteger(v)) w.int(v);
  else w.float(v);
}

/** As encodeSenmlJson, in SenML CBOR. */
export function encodeSenmlCbor(basePath: Lwm2mPath | undefined, records: readonly Lwm2mRecord[], lookup: ResourceLookup, baseTime?: number): Uint8Array {
  const rs = inside(basePath, records);
  const { bn, n } = names(basePath, rs);
  const { bt, t } = times(rs, baseTime);
  const w = new CborWriter(64 + rs.length * 24);
  w.head(4, rs.length);
  rs.forEach((r, i) => {
    const out = senmlValue(lookup, r);
    const name = n[i];
    const withBn = i === 0 && bn !== undefined;
    const withBt = i === 0 && bt !== undefined;
    w.head(5, 1 + (withBn ? 1 : 0) + (withBt ? 1 : 0) + (name !== undefined ? 1 : 0) + (t[i] !== undefined ? 1 : 0));
    if (withBn) {
      w.int(SenmlLabel.bn);
      w.text(bn!);
    }
    if (withBt) {
      w.int(SenmlLabel.bt);
      cborNumber(w, bt!);
    }
    if (name !== undefined) {
      w.int(SenmlLabel.n);
      w.text(name);
    }
    if (t[i] !== undefined) {
      w.int(SenmlLabel.t);
      cborNumber(w, t[i]!);
    }
    if (out.field === 'vlo') w.text('vlo');
    else w.int(SenmlLabel[out.field]);
    const v = out.value;
    if (v instanceof Uint8Array) w.byteString(v);
    else if (typeof v === 'string') w.text(v);
    else if (typeof v === 'boolean') w.bool(v);
    else if (out.float) w.float(v as number);
    else w.int(v);
  });
  return w.result();
}

/** One value with its label, as encodeSenmlCbor writes it after senmlValue, without the intermediate object. */
function writeCborValue(w: CborWriter, lookup: ResourceLookup, path: Lwm2mPath, value: ResourceValue, model: ResourceModel | undefined): void {
  let type: ResourceType;
  if (model) {
    if (model.type === 'none') throw new ValueError('an executable resource has no value', path);
    type = model.type;
  } else {
    type = encodeType(lookup, path, value);
  }
  switch (type) {
    case 'String':
    case 'Corelnk':
      w.int(SenmlLabel.vs);
      w.text(outString(value, path));
      return;
    case 'Integer':
    case 'Unsigned Integer':
      w.int(SenmlLabel.v);
      w.int(outIntegerFast(value, type === 'Unsigned Integer', path));
      return;
    case 'Float':
      w.int(SenmlLabel.v);
      w.float(outFloat(value, path));
      return;
    case 'Time':
      w.int(SenmlLabel.v);
      w.int(outTime(value, path));
      return;
    case 'Boolean':
      w.int(SenmlLabel.vb);
      w.bool(outBoolean(value, path));
      return;
    case 'Opaque':
      w.int(SenmlLabel.vd);
      w.byteString(outOpaque(value, path));
      return;
    case 'Objlnk':
      w.text('vlo');
      w.text(formatObjlnk(outObjlnk(value, path)));
      return;
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

const instancesWriter = new CborWriter(512);

/**
 * SenML CBOR of whole instances (a Read of /o/i or /o), straight from each instance's resource map: the same bytes
 * encodeSenmlCbor gives for the records of those instances (resource instances in ascending order), without them.
 */
export function encodeSenmlCborInstances(basePath: Lwm2mPath, instances: readonly InstanceContent[], lookup: ResourceLookup): Uint8Array {
  const { objectId } = basePath;
  const objectLevel = basePath.instanceId === undefined;
  let count = 0;
  for (const inst of instances) {
    for (const content of inst.resources.values()) count += content instanceof Map ? content.size : 1;
  }
  const w = instancesWriter.reset();
  w.ensure(64 + count * 24);
  w.head(4, count);
  let first = true;
  const record = (path: Lwm2mPath, name: string, value: ResourceValue, model: ResourceModel | undefined): void => {
    w.head(5, first ? 3 : 2);
    if (first) {
      w.int(SenmlLabel.bn);
      w.text(`${formatPath(basePath)}/`);
      first = false;
    }
    w.int(SenmlLabel.n);
    w.text(name);
    writeCborValue(w, lookup, path, value, model);
  };
  for (const inst of instances) {
    const { instanceId } = inst;
    const prefix = objectLevel ? `${instanceId}/` : '';
    for (const [resourceId, content] of inst.resources) {
      const model = lookup(objectId, resourceId);
      if (content instanceof Map) {
        for (const [riid, value] of sortedEntries(content as ReadonlyMap<number, ResourceValue>)) {
          record({ objectId, instanceId, resourceId, resourceInstanceId: riid }, `${prefix}${resourceId}/${riid}`, value, model);
        }
      } else {
        record({ objectId, instanceId, resourceId }, `${prefix}${resourceId}`, content as ResourceValue, model);
      }
    }
  }
  return w.result();
}

// ---------------------------------------------------------------- decoding

/** A raw SenML field value from either encoding: JSON numbers keep their text, CBOR ones come as number or bigint. */
type RawField = JsonValue | number | bigint | Uint8Array;
type RawRecord = ReadonlyMap<string, RawField>;

function describeField(v: RawField | undefined): string {
  if (v instanceof JsonNumber) return v.text;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 40));
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === null ? 'null' : typeof v;
}

/** A numeric field as an exact integer (number or bigint), or undefined when it is not an integer. */
function exactInteger(v: RawField): number | bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? (Number.isSafeInteger(v) ? v : BigInt(v)) : undefined;
  if (v instanceof JsonNumber) {
    if (/^-?\d+$/.test(v.text)) return BigInt(v.text);
    const n = Number(v.text);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function numeric(v: RawField): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof JsonNumber) return Number(v.text);
  return undefined;
}

function sumIntegers(a: number | bigint, b: number | bigint): number | bigint {
  return typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a + b) ? a + b : BigInt(a) + BigInt(b);
}

function typedValue(model: ResourceModel, r: RawRecord, baseValue: RawField | undefined, path: Lwm2mPath, json: boolean): ResourceValue {
  const want = (field: ValueField): RawField => {
    const v = r.get(field);
    if (v === undefined) {
      const got = (['v', 'vs', 'vb', 'vd', 'vlo'] as const).find((f) => r.has(f));
      throw new BadRequestError(got ? `a ${model.type} value must be in "${field}", not "${got}"` : 'record has no value', path);
    }
    return v;
  };
  const mismatch = (v: RawField): never => {
    throw new BadRequestError(`${describeField(v)} is not a valid ${model.type} value`, path);
  };
  switch (model.type) {
    case 'String':
    case 'Corelnk': {
      const v = want('vs');
      return typeof v === 'string' ? v : mismatch(v);
    }
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time': {
      const v = want('v');
      let n = exactInteger(v);
      if (n === undefined) return mismatch(v);
      if (baseValue !== undefined) {
        const b = exactInteger(baseValue);
        if (b === undefined) return mismatch(baseValue);
        n = sumIntegers(n, b);
      }
      return model.type === 'Time' ? inTime(n, path) : inInteger(n, model.type === 'Unsigned Integer', path);
    }
    case 'Float': {
      const v = want('v');
      let f = numeric(v);
      if (f === undefined) return mismatch(v);
      if (baseValue !== undefined) f += numeric(baseValue) ?? NaN;
      if (!Number.isFinite(f)) throw new ValueError(`${describeField(v)} is not a finite number`, path);
      return f;
    }
    case 'Boolean': {
      const v = want('vb');
      return typeof v === 'boolean' ? v : mismatch(v);
    }
    case 'Opaque': {
      const v = want('vd');
      if (json) return typeof v === 'string' ? fromBase64(v, path) : mismatch(v);
      return v instanceof Uint8Array ? new Uint8Array(v) : mismatch(v);
    }
    case 'Objlnk': {
      const v = want('vlo');
      return typeof v === 'string' ? parseObjlnk(v, path) : mismatch(v);
    }
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

/** A value typed by its SenML field alone, for a reader without the models: v a number (a bigint beyond 2^53), vlo an object link. */
function untypedValue(r: RawRecord, baseValue: RawField | undefined, path: Lwm2mPath, json: boolean): ResourceValue {
  const fields = (['v', 'vs', 'vb', 'vd', 'vlo'] as const).filter((f) => r.has(f));
  if (fields.length !== 1) throw new BadRequestError(fields.length === 0 ? 'record has no value' : `record has several values (${fields.join(', ')})`, path);
  const field = fields[0]!;
  const v = r.get(field)!;
  const mismatch = (): never => {
    throw new BadRequestError(`${describeField(v)} is not a valid "${field}" value`, path);
  };
  switch (field) {
    case 'v': {
      const n = exactInteger(v);
      const b = baseValue === undefined ? 0 : exactInteger(baseValue);
      if (n !== undefined && b !== undefined) {
        const sum = sumIntegers(n, b);
        return typeof sum === 'bigint' && sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum;
      }
      const f = (numeric(v) ?? mismatch()) + (baseValue === undefined ? 0 : numeric(baseValue) ?? NaN);
      if (!Number.isFinite(f)) throw new ValueError(`${describeField(v)} is not a finite number`, path);
      return f;
    }
    case 'vs': return typeof v === 'string' ? v : mismatch();
    case 'vb': return typeof v === 'boolean' ? v : mismatch();
    case 'vd':
      if (json) return typeof v === 'string' ? fromBase64(v, path) : mismatch();
      return v instanceof Uint8Array ? new Uint8Array(v) : mismatch();
    case 'vlo': return typeof v === 'string' ? parseObjlnk(v, path) : mismatch();
  }
}

/** A SenML time field (bt or t) as seconds. */
function timeField(v: RawField, label: 'bt' | 't', path: Lwm2mPath | undefined): number {
  const n = numeric(v);
  if (n === undefined || !Number.isFinite(n)) throw new BadRequestError(`SenML ${label === 'bt' ? 'base time' : 'time'} ${describeField(v)} is not a number`, path);
  return n;
}

/**
 * Resolves names (bn + n) and times (bt + t), and types values per the model: the part both SenML encodings share.
 * Without a lookup (a reader that lacks the models) values are typed by their field alone (see untypedValue).
 */
function decodeSenml(basePath: Lwm2mPath | undefined, records: readonly RawRecord[], lookup: ResourceLookup | undefined, json: boolean): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  let bn = '';
  let bv: RawField | undefined;
  let bt: number | undefined;
  for (const r of records) {
    for (const key of r.keys()) {
      // RFC 8428 section 4.4: a label ending in "_" must be understood, and we understand none.
      if (key.endsWith('_')) throw new BadRequestError(`SenML field "${key}" must be understood and is not supported`, basePath);
    }
    const rbn = r.get('bn');
    if (rbn !== undefined) {
      if (typeof rbn !== 'string') throw new BadRequestError('SenML base name is not a string', basePath);
      bn = rbn;
    }
    const rbv = r.get('bv');
    if (rbv !== undefined) bv = rbv;
    const n = r.get('n') ?? '';
    if (typeof n !== 'string') throw new BadRequestError('SenML name is not a string', basePath);
    const name = bn + n;
    const path = parsePath(name);
    if (!path || name === '') throw new BadRequestError(`SenML name ${JSON.stringify(name.slice(0, 40))} is not an LwM2M path`, basePath);
    if (basePath !== undefined && !isUnder(basePath, path)) throw new BadRequestError(`SenML record ${name} lies outside the request path`, basePath);
    if (path.resourceId === undefined) throw new BadRequestError(`SenML record ${name} names no resource`, basePath);
    const rbt = r.get('bt');
    if (rbt !== undefined) bt = timeField(rbt, 'bt', path);
    const rt = r.get('t');
    const t = rt === undefined ? undefined : timeField(rt, 't', path);
    let value: ResourceValue;
    if (lookup) {
      const model = requireModel(lookup, path);
      checkMultiplicity(model, path);
      value = typedValue(model, r, bv, path, json);
    } else {
      value = untypedValue(r, bv, path, json);
    }
    out.push(bt === undefined && t === undefined ? { path, value } : { path, value, time: (bt ?? 0) + (t ?? 0) });
  }
  return out;
}

/** `basePath` undefined: the root of a composite operation, where records may name any object. */
export function decodeSenmlJson(basePath: Lwm2mPath | undefined, payload: Uint8Array, lookup: ResourceLookup | undefined): Lwm2mRecord[] {
  let text: string;
  try {
    text = utf8Decoder.decode(payload);
  } catch {
    throw new BadRequestError('SenML JSON payload is not valid UTF-8', basePath);
  }
  const doc = parseJson(text, basePath);
  if (!Array.isArray(doc)) throw new BadRequestError('SenML JSON must be an array of records', basePath);
  const records = doc.map((r) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r) || r instanceof JsonNumber) {
      throw new BadRequestError('SenML JSON record is not an object', basePath);
    }
    return new Map(Object.entries(r));
  });
  return decodeSenml(basePath, records, lookup, true);
}

export function decodeSenmlCbor(basePath: Lwm2mPath | undefined, payload: Uint8Array, lookup: ResourceLookup | undefined): Lwm2mRecord[] {
  const doc = decodeCbor(payload, basePath);
  if (!Array.isArray(doc)) throw new BadRequestError('SenML CBOR must be an array of records', basePath);
  const records = doc.map((r: unknown) => {
    if (!(r instanceof Map)) throw new BadRequestError('SenML CBOR record is not a map', basePath);
    const named = new Map<string, RawField>();
    for (const [k, v] of r as Map<unknown, unknown>) {
      const name = typeof k === 'number' ? LABEL_NAMES.get(k) ?? `label ${k}` : typeof k === 'string' ? k : undefined;
      if (name === undefined) throw new BadRequestError('SenML CBOR label is neither an integer nor a text', basePath);
      if (named.has(name)) throw new BadRequestError(`SenML CBOR record repeats "${name}"`, basePath);
      named.set(name, toRawField(v, basePath));
    }
    return named;
  });
  return decodeSenml(basePath, records, lookup, false);
}

function toRawField(v: unknown, path: Lwm2mPath | undefined): RawField {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean' || v instanceof Uint8Array) return v;
  if (v === null || v === undefined) return null;
  // Arrays, maps, tags: no SenML field carries them; keep the record checkable and let the value check refuse them.
  throw new BadRequestError('SenML CBOR field holds a structure where a value belongs', path);
}
