// OMA-TLV (11542): the LwM2M 1.0 binary format; what the payload holds at top level depends on the request path's depth.
import { BadRequestError, ValueError } from '../errors.js';
import type { Lwm2mPath, ResourceContent, ResourceModel, ResourceType, ResourceValue } from '../model.js';
import {
  checkMultiplicity, encodeType, inInteger, inTime, isUnder, makePath, outBoolean, outFloat, outIntegerFast,
  outObjlnk, outOpaque, outString, outTime, pathDepth, requireModel, sortedEntries, utf8Decoder, type InstanceContent,
  type Lwm2mRecord, type ResourceLookup,
} from './types.js';
import { ByteWriter } from './writer.js';

/** Identifier types, the two top bits of the type byte. */
export const TlvType = { OBJECT_INSTANCE: 0, RESOURCE_INSTANCE: 1, MULTIPLE_RESOURCE: 2, RESOURCE: 3 } as const;

/** Lengths beyond 24 bits cannot be expressed in a TLV header. */
const MAX_TLV_LENGTH = 0xffffff;
const TWO32 = 4294967296;
/** The one writer of the encoders: reset per payload (encoding is synchronous and never nests), result copied. */
const scratch = new ByteWriter(512);

// ---------------------------------------------------------------- encoding

/**
 * Starts one TLV entry: the header is reserved at its largest (6 bytes) and the content moved back by endEntry once
 * its length is known, so nested entries need no second pass. Returns where the entry starts.
 */
function startEntry(w: ByteWriter): number {
  const start = w.length;
  w.ensure(6);
  w.length += 6;
  return start;
}

function endEntry(w: ByteWriter, start: number, type: number, id: number, path: Lwm2mPath): void {
  const len = w.length - start - 6;
  if (len > MAX_TLV_LENGTH) throw new ValueError(`a TLV entry of ${len} bytes exceeds the 16 MiB TLV limit`, path);
  const wideId = id > 0xff;
  const lenBytes = len < 8 ? 0 : len <= 0xff ? 1 : len <= 0xffff ? 2 : 3;
  const hdr = 1 + (wideId ? 2 : 1) + lenBytes;
  if (hdr < 6) {
    w.buf.copyWithin(start + hdr, start + 6, w.length);
    w.length -= 6 - hdr;
  }
  const b = w.buf;
  let p = start;
  b[p++] = (type << 6) | (wideId ? 0x20 : 0) | (lenBytes << 3) | (lenBytes === 0 ? len : 0);
  if (wideId) b[p++] = id >> 8;
  b[p++] = id & 0xff;
  if (lenBytes === 3) b[p++] = len >> 16;
  if (lenBytes >= 2) b[p++] = (len >> 8) & 0xff;
  if (lenBytes >= 1) b[p] = len & 0xff;
}

function writeSigned(w: ByteWriter, n: number | bigint): void {
  if (typeof n === 'bigint') {
    if (n >= -2147483648n && n <= 2147483647n) return writeSigned(w, Number(n));
    w.ensure(8);
    w.view.setBigInt64(w.length, n);
    w.length += 8;
    return;
  }
  if (n >= -128 && n <= 127) {
    w.ensure(1);
    w.view.setInt8(w.length, n);
    w.length += 1;
  } else if (n >= -32768 && n <= 32767) {
    w.ensure(2);
    w.view.setInt16(w.length, n);
    w.length += 2;
  } else if (n >= -2147483648 && n <= 2147483647) {
    w.ensure(4);
    w.view.setInt32(w.length, n);
    w.length += 4;
  } else {
    const hi = Math.floor(n / TWO32);
    w.ensure(8);
    w.view.setInt32(w.length, hi);
    w.view.setUint32(w.length + 4, n - hi * TWO32);
    w.length += 8;
  }
}

function writeUnsigned(w: ByteWriter, n: number | bigint): void {
  if (typeof n === 'bigint') {
    if (n <= 0xffffffffn) return writeUnsigned(w, Number(n));
    w.ensure(8);
    w.view.setBigUint64(w.length, n);
    w.length += 8;
    return;
  }
  if (n <= 0xff) {
    w.u8(n);
  } else if (n <= 0xffff) {
    w.ensure(2);
    w.view.setUint16(w.length, n);
    w.length += 2;
  } else if (n <= 0xffffffff) {
    w.ensure(4);
    w.view.setUint32(w.length, n);
    w.length += 4;
  } else {
    const hi = Math.floor(n / TWO32);
    w.ensure(8);
    w.view.setUint32(w.length, hi);
    w.view.setUint32(w.length + 4, n - hi * TWO32);
    w.length += 8;
  }
}

function writeValue(w: ByteWriter, type: ResourceType, v: ResourceValue, path: Lwm2mPath): void {
  switch (type) {
    case 'String':
    case 'Corelnk':
      w.utf8(outString(v, path));
      return;
    case 'Integer':
      writeSigned(w, outIntegerFast(v, false, path));
      return;
    case 'Unsigned Integer':
      writeUnsigned(w, outIntegerFast(v, true, path));
      return;
    case 'Time':
      writeSigned(w, outTime(v, path));
      return;
    case 'Float': {
      const f = outFloat(v, path);
      // 4 bytes only when the value survives the round trip through float32 exactly.
      if (Math.fround(f) === f) {
        w.ensure(4);
        w.view.setFloat32(w.length, f);
        w.length += 4;
      } else {
        w.ensure(8);
        w.view.setFloat64(w.length, f);
        w.length += 8;
      }
      return;
    }
    case 'Boolean':
      w.u8(outBoolean(v, path) ? 1 : 0);
      return;
    case 'Opaque':
      w.bytes(outOpaque(v, path));
      return;
    case 'Objlnk': {
      const l = outObjlnk(v, path);
      w.ensure(4);
      w.view.setUint16(w.length, l.objectId);
      w.view.setUint16(w.length + 2, l.instanceId);
      w.length += 4;
      return;
    }
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

function groupBy<K>(records: readonly Lwm2mRecord[], key: (r: Lwm2mRecord) => K): Map<K, Lwm2mRecord[]> {
  const groups = new Map<K, Lwm2mRecord[]>();
  for (const r of records) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

/** Writes the resources of one object instance (records grouped by resource id). */
function writeResources(w: ByteWriter, records: readonly Lwm2mRecord[], lookup: ResourceLookup): void {
  for (const [resourceId, group] of groupBy(records, (r) => r.path.resourceId)) {
    const first = group[0]!;
    if (resourceId === undefined) throw new ValueError('a record needs a resource path', first.path);
    const model = lookup(first.path.objectId, resourceId);
    const type = encodeType(lookup, first.path, first.value);
    const multiple = model ? model.multiple : first.path.resourceInstanceId !== undefined;
    if (!multiple) {
      if (group.length > 1) throw new ValueError('a single resource has more than one value', first.path);
      if (first.path.resourceInstanceId !== undefined) throw new ValueError('a single resource has no resource instances', first.path);
      const start = startEntry(w);
      writeValue(w, type, first.value, first.path);
      endEntry(w, start, TlvType.RESOURCE, resourceId, first.path);
      continue;
    }
    const start = startEntry(w);
    for (const r of group) writeResourceInstance(w, type, r);
    endEntry(w, start, TlvType.MULTIPLE_RESOURCE, resourceId, first.path);
  }
}

function writeResourceInstance(w: ByteWriter, type: ResourceType, r: Lwm2mRecord): void {
  const riid = r.path.resourceInstanceId;
  if (riid === undefined) throw new ValueError('a multiple resource needs resource instance ids', r.path);
  const start = startEntry(w);
  writeValue(w, type, r.value, r.path);
  endEntry(w, start, TlvType.RESOURCE_INSTANCE, riid, r.path);
}

export function encodeTlv(basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const inside = records.every((r) => isUnder(basePath, r.path)) ? records : records.filter((r) => isUnder(basePath, r.path));
  const w = scratch.reset();
  w.ensure(64 + inside.length * 24);
  switch (pathDepth(basePath)) {
    case 1:
      for (const [instanceId, group] of groupBy(inside, (r) => r.path.instanceId)) {
        if (instanceId === undefined) throw new ValueError('a record needs an object instance id', group[0]!.path);
        const start = startEntry(w);
        writeResources(w, group, lookup);
        endEntry(w, start, TlvType.OBJECT_INSTANCE, instanceId, group[0]!.path);
      }
      break;
    case 2:
    case 3:
      writeResources(w, inside, lookup);
      break;
    case 4:
      for (const r of inside) writeResourceInstance(w, encodeType(lookup, r.path, r.value), r);
      break;
  }
  return w.result();
}

/** The type a value goes out as: the model's when known (lookup done once by the caller), else inferred. */
function typeOf(model: ResourceModel | undefined, lookup: ResourceLookup, path: Lwm2mPath, value: ResourceValue): ResourceType {
  if (!model) return encodeType(lookup, path, value);
  if (model.type === 'none') throw new ValueError('an executable resource has no value', path);
  return model.type;
}

/**
 * One resource of an instance, straight from its content. Same bytes and same refusals as writeResources on the
 * records the router used to build (an empty multiple resource writes nothing), without the records.
 */
function writeContent(w: ByteWriter, objectId: number, instanceId: number, resourceId: number, content: ResourceContent, lookup: ResourceLookup): void {
  const model = lookup(objectId, resourceId);
  if (!(content instanceof Map)) {
    const path: Lwm2mPath = { objectId, instanceId, resourceId };
    const value = content as ResourceValue;
    const type = typeOf(model, lookup, path, value);
    if (model?.multiple) throw new ValueError('a multiple resource needs resource instance ids', path);
    const start = startEntry(w);
    writeValue(w, type, value, path);
    endEntry(w, start, TlvType.RESOURCE, resourceId, path);
    return;
  }
  const instances = content as ReadonlyMap<number, ResourceValue>;
  if (instances.size === 0) return;
  let firstPath: Lwm2mPath | undefined;
  let type: ResourceType = 'none';
  let start = 0;
  for (const [riid, value] of sortedEntries(instances)) {
    const path: Lwm2mPath = { objectId, instanceId, resourceId, resourceInstanceId: riid };
    if (!firstPath) {
      firstPath = path;
      type = typeOf(model, lookup, path, value);
      if (model && !model.multiple) {
        throw new ValueError(instances.size > 1 ? 'a single resource has more than one value' : 'a single resource has no resource instances', path);
      }
      start = startEntry(w);
    }
    const ri = startEntry(w);
    writeValue(w, type, value, path);
    endEntry(w, ri, TlvType.RESOURCE_INSTANCE, riid, path);
  }
  endEntry(w, start, TlvType.MULTIPLE_RESOURCE, resourceId, firstPath!);
}

/**
 * TLV of whole instances (a Read of /o/i with one instance, or of /o): encoded from each instance's resource map.
 * An instance without resources is left out at object level, as encodeTlv leaves out an instance with no records.
 */
export function encodeTlvInstances(basePath: Lwm2mPath, instances: readonly InstanceContent[], lookup: ResourceLookup): Uint8Array {
  const { objectId } = basePath;
  let count = 0;
  for (const inst of instances) count += inst.resources.size;
  const w = scratch.reset();
  w.ensure(64 + count * 24);
  const depth = pathDepth(basePath);
  for (const inst of instances) {
    if (depth === 1) {
      if (inst.resources.size === 0) continue;
      const start = startEntry(w);
      const before = w.length;
      for (const [rid, content] of inst.resources) writeContent(w, objectId, inst.instanceId, rid, content, lookup);
      // Only empty multiple resources: encodeTlv had no record of this instance, so no entry either.
      if (w.length === before) w.length = start;
      else endEntry(w, start, TlvType.OBJECT_INSTANCE, inst.instanceId, { objectId, instanceId: inst.instanceId });
    } else {
      for (const [rid, content] of inst.resources) writeContent(w, objectId, inst.instanceId, rid, content, lookup);
    }
  }
  return w.result();
}

// ---------------------------------------------------------------- decoding

/** One parsed TLV header: the entry's type and id, and where its value lies in the payload. */
interface Entry {
  type: number;
  id: number;
  start: number;
  end: number;
}

/** Splits bytes [pos, end) into entries, checking every length against the bytes actually there. */
function entries(b: Uint8Array, pos: number, end: number, path: Lwm2mPath): Entry[] {
  const out: Entry[] = [];
  while (pos < end) {
    const t = b[pos]!;
    const idLen = t & 0x20 ? 2 : 1;
    const lenType = (t >> 3) & 3;
    const hdr = 1 + idLen + lenType;
    if (pos + hdr > end) throw new BadRequestError(`truncated TLV header at byte ${pos}`, path);
    const id = idLen === 2 ? (b[pos + 1]! << 8) | b[pos + 2]! : b[pos + 1]!;
    let len = lenType === 0 ? t & 7 : 0;
    if (lenType > 0) {
      let q = pos + 1 + idLen;
      for (let i = 0; i < lenType; i++) len = (len << 8) | b[q++]!;
    }
    const start = pos + hdr;
    if (start + len > end) throw new BadRequestError(`TLV entry at byte ${pos} claims ${len} bytes, ${end - start} remain`, path);
    out.push({ type: t >> 6, id, start, end: start + len });
    pos = start + len;
  }
  return out;
}

function readSigned(v: DataView, start: number, len: number, path: Lwm2mPath): number | bigint {
  switch (len) {
    case 1: return v.getInt8(start);
    case 2: return v.getInt16(start);
    case 4: return v.getInt32(start);
    case 8: {
      const hi = v.getInt32(start);
      if (hi > -2097152 && hi < 2097152) return hi * TWO32 + v.getUint32(start + 4);
      return v.getBigInt64(start);
    }
    default: throw new BadRequestError(`an integer takes 1, 2, 4 or 8 bytes in TLV, not ${len}`, path);
  }
}

function readUnsigned(v: DataView, start: number, len: number, path: Lwm2mPath): number | bigint {
  switch (len) {
    case 1: return v.getUint8(start);
    case 2: return v.getUint16(start);
    case 4: return v.getUint32(start);
    case 8: {
      const hi = v.getUint32(start);
      if (hi < 2097152) return hi * TWO32 + v.getUint32(start + 4);
      return v.getBigUint64(start);
    }
    default: throw new BadRequestError(`an unsigned integer takes 1, 2, 4 or 8 bytes in TLV, not ${len}`, path);
  }
}

function readValue(b: Uint8Array, v: DataView, e: Entry, type: ResourceType, path: Lwm2mPath): ResourceValue {
  const len = e.end - e.start;
  switch (type) {
    case 'String':
    case 'Corelnk':
      try {
        return utf8Decoder.decode(b.subarray(e.start, e.end));
      } catch {
        throw new BadRequestError('string value is not valid UTF-8', path);
      }
    case 'Integer':
      return inInteger(readSigned(v, e.start, len, path), false, path);
    case 'Unsigned Integer':
      return inInteger(readUnsigned(v, e.start, len, path), true, path);
    case 'Time':
      return inTime(readSigned(v, e.start, len, path), path);
    case 'Float': {
      let f: number;
      if (len === 4) f = v.getFloat32(e.start);
      else if (len === 8) f = v.getFloat64(e.start);
      else throw new BadRequestError(`a float takes 4 or 8 bytes in TLV, not ${len}`, path);
      if (!Number.isFinite(f)) throw new ValueError(`${f} is not a finite number`, path);
      return f;
    }
    case 'Boolean': {
      const x = len === 1 ? b[e.start]! : -1;
      if (x !== 0 && x !== 1) throw new BadRequestError('a boolean is one byte, 0 or 1', path);
      return x === 1;
    }
    case 'Opaque':
      return b.slice(e.start, e.end);
    case 'Objlnk':
      if (len !== 4) throw new BadRequestError(`an object link takes 4 bytes in TLV, not ${len}`, path);
      return { objectId: v.getUint16(e.start), instanceId: v.getUint16(e.start + 2) };
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

const TYPE_NAMES = ['object instance', 'resource instance', 'multiple resource', 'resource'];

class TlvDecoder {
  readonly out: Lwm2mRecord[] = [];
  readonly view: DataView;
  constructor(readonly b: Uint8Array, readonly lookup: ResourceLookup, readonly basePath: Lwm2mPath) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** A resource entry (0b11 or 0b10) of instance `instanceId` (undefined for a Create that names none). */
  resource(objectId: number, instanceId: number | undefined, e: Entry): void {
    const path = instanceId === undefined ? { objectId, resourceId: e.id } : makePath(objectId, instanceId, e.id);
    if (e.type !== TlvType.RESOURCE && e.type !== TlvType.MULTIPLE_RESOURCE) {
      throw new BadRequestError(`expected a resource, found a ${TYPE_NAMES[e.type]} entry`, path);
    }
    const model = requireModel(this.lookup, path);
    if (e.type === TlvType.RESOURCE) {
      if (model.multiple) throw new BadRequestError('a multiple resource must be sent as resource instances', path);
      this.out.push({ path, value: readValue(this.b, this.view, e, model.type, path) });
      return;
    }
    if (!model.multiple) throw new BadRequestError('a single resource sent as a multiple resource', path);
    for (const ri of entries(this.b, e.start, e.end, path)) this.resourceInstance(model, { ...path, resourceInstanceId: ri.id }, ri);
  }

  resourceInstance(model: ResourceModel, path: Lwm2mPath, e: Entry): void {
    if (e.type !== TlvType.RESOURCE_INSTANCE) {
      throw new BadRequestError(`expected a resource instance, found a ${TYPE_NAMES[e.type]} entry`, path);
    }
    this.out.push({ path, value: readValue(this.b, this.view, e, model.type, path) });
  }

  instance(objectId: number, instanceId: number, list: readonly Entry[]): void {
    for (const e of list) this.resource(objectId, instanceId, e);
  }
}

export function decodeTlv(basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  const d = new TlvDecoder(payload, lookup, basePath);
  const top = entries(payload, 0, payload.length, basePath);
  const { objectId, instanceId, resourceId, resourceInstanceId } = basePath;
  const outside = (e: Entry) => new BadRequestError(`payload holds ${TYPE_NAMES[e.type]} ${e.id}, outside the request path`, basePath);
  if (instanceId === undefined) {
    // An object: instances, or (a Create that leaves the id to the client) the resources of one new instance.
    if (top.every((e) => e.type === TlvType.OBJECT_INSTANCE)) {
      for (const e of top) d.instance(objectId, e.id, entries(payload, e.start, e.end, makePath(objectId, e.id)));
    } else {
      for (const e of top) d.resource(objectId, undefined, e);
    }
  } else if (resourceId === undefined) {
    // An instance: its resources, also accepted wrapped in one object-instance entry of the same id.
    const only = top[0];
    if (top.length === 1 && only && only.type === TlvType.OBJECT_INSTANCE) {
      if (only.id !== instanceId) throw outside(only);
      d.instance(objectId, instanceId, entries(payload, only.start, only.end, basePath));
    } else {
      d.instance(objectId, instanceId, top);
    }
  } else if (resourceInstanceId === undefined) {
    const model = requireModel(lookup, basePath);
    for (const e of top) {
      if (e.type === TlvType.RESOURCE_INSTANCE && model.multiple) {
        // Bare resource instances of the target resource: accepted, some servers send them so.
        d.resourceInstance(model, { ...basePath, resourceInstanceId: e.id }, e);
      } else {
        if (e.id !== resourceId) throw outside(e);
        d.resource(objectId, instanceId, e);
      }
    }
  } else {
    const model = requireModel(lookup, basePath);
    checkMultiplicity(model, basePath);
    for (const e of top) {
      if (e.id !== resourceInstanceId || (e.type !== TlvType.RESOURCE_INSTANCE && e.type !== TlvType.RESOURCE)) throw outside(e);
      d.out.push({ path: basePath, value: readValue(payload, d.view, e, model.type, basePath) });
    }
  }
  return d.out;
}
