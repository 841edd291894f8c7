// LwM2M CBOR (11544, LwM2M 1.2): nested maps keyed by path components from the object id down, values at the leaves.
import { BadRequestError, ValueError } from '../errors.js';
import type { Lwm2mPath, ResourceModel, ResourceValue } from '../model.js';
import { CborWriter, decodeCbor } from './cbor.js';
import {
  checkMultiplicity, encodeType, formatObjlnk, inInteger, inTime, isUnder, makePath, outBoolean, outFloat,
  outIntegerFast, outObjlnk, outOpaque, outString, outTime, parseObjlnk, requireModel, type Lwm2mRecord,
  type ResourceLookup,
} from './types.js';

/** A tree of path components; leaves are the records to write. */
type Node = Map<number, Node | Lwm2mRecord>;

function writeValue(w: CborWriter, lookup: ResourceLookup, r: Lwm2mRecord): void {
  const { path, value } = r;
  const type = encodeType(lookup, path, value);
  switch (type) {
    case 'String':
    case 'Corelnk':
      return w.text(outString(value, path));
    case 'Integer':
    case 'Unsigned Integer':
      return w.int(outIntegerFast(value, type === 'Unsigned Integer', path));
    case 'Float':
      return w.float(outFloat(value, path));
    case 'Time':
      return w.int(outTime(value, path));
    case 'Boolean':
      return w.bool(outBoolean(value, path));
    case 'Opaque':
      return w.byteString(outOpaque(value, path));
    case 'Objlnk':
      return w.text(formatObjlnk(outObjlnk(value, path)));
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

function writeNode(w: CborWriter, node: Node, lookup: ResourceLookup): void {
  w.head(5, node.size);
  for (const [k, child] of node) {
    w.int(k);
    if (child instanceof Map) writeNode(w, child, lookup);
    else writeValue(w, lookup, child);
  }
}

/**
 * Encodes the records as nested maps rooted at the object id ({3: {0: {0: "…"}}}). Keys are not compressed into
 * arrays: that form is optional for a writer, and the decoder below reads both.
 */
export function encodeLwm2mCbor(basePath: Lwm2mPath | undefined, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const root: Node = new Map();
  for (const r of records) {
    if (basePath !== undefined && !isUnder(basePath, r.path)) continue;
    const { objectId, instanceId, resourceId, resourceInstanceId } = r.path;
    if (instanceId === undefined || resourceId === undefined) throw new ValueError('a record needs a resource path', r.path);
    const keys = resourceInstanceId === undefined ? [objectId, instanceId, resourceId] : [objectId, instanceId, resourceId, resourceInstanceId];
    let node = root;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i]!;
      let next = node.get(k);
      if (next === undefined) node.set(k, (next = new Map()));
      if (!(next instanceof Map)) throw new ValueError('a resource has both a value and resource instances', r.path);
      node = next;
    }
    const last = keys[keys.length - 1]!;
    if (node.has(last)) throw new ValueError('two values for one path', r.path);
    node.set(last, r);
  }
  const w = new CborWriter(64 + records.length * 24);
  writeNode(w, root, lookup);
  return w.result();
}

function isId(k: unknown): k is number {
  return typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 0xffff;
}

function typedValue(model: ResourceModel, v: unknown, path: Lwm2mPath): ResourceValue {
  const mismatch = (): never => {
    throw new BadRequestError(`a ${typeof v === 'object' ? 'structure' : typeof v} is not a valid ${model.type} value`, path);
  };
  switch (model.type) {
    case 'String':
    case 'Corelnk':
      return typeof v === 'string' ? v : mismatch();
    case 'Integer':
    case 'Unsigned Integer':
      if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return inInteger(v, model.type === 'Unsigned Integer', path);
      return mismatch();
    case 'Time':
      // Tag 1 (epoch time) is accepted too; cbor-x hands it over as a Date.
      if (v instanceof Date) return inTime(Math.floor(v.getTime() / 1000), path);
      if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return inTime(v, path);
      return mismatch();
    case 'Float':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'bigint') return Number(v);
      return mismatch();
    case 'Boolean':
      return typeof v === 'boolean' ? v : mismatch();
    case 'Opaque':
      return v instanceof Uint8Array ? new Uint8Array(v) : mismatch();
    case 'Objlnk':
      return typeof v === 'string' ? parseObjlnk(v, path) : mismatch();
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

/**
 * Reads both plain keys (3) and compressed path keys ([3, 0]) at any level, as LwM2M 1.2 allows. `basePath`
 * undefined: the root of a composite operation, where values may lie in any object.
 */
export function decodeLwm2mCbor(basePath: Lwm2mPath | undefined, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  const doc = decodeCbor(payload, basePath);
  const out: Lwm2mRecord[] = [];
  const walk = (node: unknown, prefix: readonly number[]) => {
    if (!(node instanceof Map)) throw new BadRequestError('LwM2M CBOR expects a map of path components', basePath);
    for (const [key, child] of node as Map<unknown, unknown>) {
      const ids = Array.isArray(key) ? key : [key];
      if (ids.length === 0 || !ids.every(isId)) throw new BadRequestError('LwM2M CBOR key is not a path component (or an array of them)', basePath);
      const full = [...prefix, ...ids];
      if (full.length > 4) throw new BadRequestError('LwM2M CBOR path is deeper than a resource instance', basePath);
      if (child instanceof Map) {
        walk(child, full);
        continue;
      }
      if (full.length < 3) throw new BadRequestError(`LwM2M CBOR value at /${full.join('/')}, above any resource`, basePath);
      const path = makePath(full[0]!, full[1], full[2], full[3]);
      if (basePath !== undefined && !isUnder(basePath, path)) throw new BadRequestError(`LwM2M CBOR value at /${full.join('/')} lies outside the request path`, basePath);
      const model = requireModel(lookup, path);
      checkMultiplicity(model, path);
      out.push({ path, value: typedValue(model, child, path) });
    }
  };
  walk(doc, []);
  return out;
}
