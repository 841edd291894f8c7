// LwM2M JSON (11543), the LwM2M 1.0 format: {"bn": base name, "e": [entries with n and one of v, bv, sv, ov]}.
import { BadRequestError, ValueError } from '../errors.js';
import { formatPath, parsePath, type Lwm2mPath, type ResourceModel, type ResourceValue } from '../model.js';
import { JsonNumber, parseJson, type JsonValue } from './json.js';
import {
  checkMultiplicity, encodeType, formatObjlnk, fromBase64, inInteger, inTime, isUnder, outBoolean, outFloat, outIntegerFast,
  outObjlnk, outOpaque, outString, outTime, parseObjlnk, pathDepth, requireModel, toBase64, utf8Decoder, utf8Encoder,
  type Lwm2mRecord, type ResourceLookup,
} from './types.js';

/** One entry's value field and its JSON text. Opaque travels in "sv" as base64 (LwM2M 1.0, 6.4.4). */
function entryValue(lookup: ResourceLookup, r: Lwm2mRecord): string {
  const { path, value } = r;
  const type = encodeType(lookup, path, value);
  switch (type) {
    case 'String':
    case 'Corelnk':
      return `"sv":${JSON.stringify(outString(value, path))}`;
    case 'Opaque':
      return `"sv":"${toBase64(outOpaque(value, path), false)}"`;
    case 'Integer':
    case 'Unsigned Integer':
      return `"v":${String(outIntegerFast(value, type === 'Unsigned Integer', path))}`;
    case 'Float':
      return `"v":${JSON.stringify(outFloat(value, path))}`;
    case 'Time':
      return `"v":${outTime(value, path)}`;
    case 'Boolean':
      return `"bv":${outBoolean(value, path)}`;
    case 'Objlnk':
      return `"ov":"${formatObjlnk(outObjlnk(value, path))}"`;
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

export function encodeLwm2mJson(basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const rs = records.filter((r) => isUnder(basePath, r.path));
  for (const r of rs) {
    if (r.path.resourceId === undefined) throw new ValueError('a record needs a resource path', r.path);
  }
  const base = formatPath(basePath);
  // One value at the request's own path: bn names it and the entry has no n, as for SenML.
  const single = rs.length === 1 && pathDepth(rs[0]!.path) === pathDepth(basePath);
  const prefix = base.length + 1;
  const entries = rs.map((r) => (single ? `{${entryValue(lookup, r)}}` : `{"n":${JSON.stringify(formatPath(r.path).slice(prefix))},${entryValue(lookup, r)}}`));
  return utf8Encoder.encode(`{"bn":${JSON.stringify(single ? base : `${base}/`)},"e":[${entries.join(',')}]}`);
}

function describe(v: JsonValue | undefined): string {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 40));
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

const VALUE_FIELDS = ['v', 'bv', 'sv', 'ov'] as const;
type ValueField = (typeof VALUE_FIELDS)[number];

function typed(model: ResourceModel, entry: Readonly<Record<string, JsonValue>>, path: Lwm2mPath): ResourceValue {
  const field: ValueField = model.type === 'Boolean' ? 'bv' : model.type === 'Objlnk' ? 'ov'
    : model.type === 'String' || model.type === 'Corelnk' || model.type === 'Opaque' ? 'sv' : 'v';
  const v = entry[field];
  if (v === undefined) {
    const got = VALUE_FIELDS.find((f) => entry[f] !== undefined);
    throw new BadRequestError(got ? `a ${model.type} value must be in "${field}", not "${got}"` : 'entry has no value', path);
  }
  const mismatch = (): never => {
    throw new BadRequestError(`${describe(v)} is not a valid ${model.type} value`, path);
  };
  switch (model.type) {
    case 'String':
    case 'Corelnk':
      return typeof v === 'string' ? v : mismatch();
    case 'Opaque':
      return typeof v === 'string' ? fromBase64(v, path) : mismatch();
    case 'Boolean':
      return typeof v === 'boolean' ? v : mismatch();
    case 'Objlnk':
      return typeof v === 'string' ? parseObjlnk(v, path) : mismatch();
    case 'Float': {
      if (!(v instanceof JsonNumber)) return mismatch();
      const f = Number(v.text);
      if (!Number.isFinite(f)) throw new ValueError(`${v.text} is not a finite number`, path);
      return f;
    }
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time': {
      if (!(v instanceof JsonNumber)) return mismatch();
      // Integers keep all their digits; "5.0" is accepted as 5 (v is a float field in 1.0), "5.5" is not an integer.
      let n: number | bigint;
      if (/^-?\d+$/.test(v.text)) n = BigInt(v.text);
      else {
        const f = Number(v.text);
        if (!Number.isSafeInteger(f)) return mismatch();
        n = f;
      }
      return model.type === 'Time' ? inTime(n, path) : inInteger(n, model.type === 'Unsigned Integer', path);
    }
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

/** The entry's full name: bn and n concatenated; a missing "/" between them is supplied, as some 1.0 peers omit it. */
function fullName(bn: string, n: string): string {
  if (bn === '' || n === '' || bn.endsWith('/') || n.startsWith('/')) return bn + n;
  return `${bn}/${n}`;
}

export function decodeLwm2mJson(basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  let text: string;
  try {
    text = utf8Decoder.decode(payload);
  } catch {
    throw new BadRequestError('LwM2M JSON payload is not valid UTF-8', basePath);
  }
  const doc = parseJson(text, basePath);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || doc instanceof JsonNumber) {
    throw new BadRequestError('LwM2M JSON must be an object with "e"', basePath);
  }
  const bn = doc['bn'] ?? '';
  if (typeof bn !== 'string') throw new BadRequestError('LwM2M JSON base name is not a string', basePath);
  const entries = doc['e'];
  if (!Array.isArray(entries)) throw new BadRequestError('LwM2M JSON has no "e" array', basePath);
  return entries.map((e) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e) || e instanceof JsonNumber) {
      throw new BadRequestError('LwM2M JSON entry is not an object', basePath);
    }
    const n = e['n'] ?? '';
    if (typeof n !== 'string') throw new BadRequestError('LwM2M JSON entry name is not a string', basePath);
    const name = fullName(bn, n);
    const path = parsePath(name);
    if (!path || name === '') throw new BadRequestError(`LwM2M JSON name ${JSON.stringify(name.slice(0, 40))} is not an LwM2M path`, basePath);
    if (!isUnder(basePath, path)) throw new BadRequestError(`LwM2M JSON entry ${name} lies outside the request path`, basePath);
    if (path.resourceId === undefined) throw new BadRequestError(`LwM2M JSON entry ${name} names no resource`, basePath);
    const model = requireModel(lookup, path);
    checkMultiplicity(model, path);
    return { path, value: typed(model, e, path) };
  });
}
