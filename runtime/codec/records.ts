// The codec entry points: encodeRecords/decodeRecords dispatch on the CoAP Content-Format number.
import { BadRequestError, Lwm2mError, NotAcceptableError, UnsupportedContentFormatError } from '../errors.js';
import { makePath, sortedEntries } from './types.js';
import type { Lwm2mPath, ResourceContent, ResourceValue } from '../model.js';
import { decodeOpaque, decodeText, encodeOpaque, encodeText } from './text.js';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.js';
import { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.js';
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlCborInstances, encodeSenmlJson } from './senml.js';
import { decodeTlv, encodeTlv, encodeTlvInstances } from './tlv.js';
import { ContentFormat, type InstanceContent, type Lwm2mRecord, type ResourceLookup } from './types.js';

type Encoder = (basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup) => Uint8Array;
type Decoder = (basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup) => Lwm2mRecord[];

const codecs = new Map<number, { encode: Encoder; decode: Decoder }>([
  [ContentFormat.TEXT, { encode: encodeText, decode: decodeText }],
  [ContentFormat.OPAQUE, { encode: encodeOpaque, decode: decodeOpaque }],
  [ContentFormat.TLV, { encode: encodeTlv, decode: decodeTlv }],
  [ContentFormat.SENML_JSON, { encode: encodeSenmlJson, decode: decodeSenmlJson }],
  [ContentFormat.SENML_CBOR, { encode: encodeSenmlCbor, decode: decodeSenmlCbor }],
  [ContentFormat.LWM2M_JSON, { encode: encodeLwm2mJson, decode: decodeLwm2mJson }],
  [ContentFormat.LWM2M_CBOR, { encode: encodeLwm2mCbor, decode: decodeLwm2mCbor }],
]);

/** True for the formats encodeRecords/decodeRecords handle (link-format is separate: formatLinks/parseLinks). */
export function isSupportedFormat(format: number): boolean {
  return codecs.has(format);
}

/**
 * Encodes the records that lie under `basePath` (the request's path); records outside it are left out.
 * Throws NotAcceptableError (4.06) when the format cannot carry that target (text/opaque for more than one
 * value, opaque for non-Opaque) or is not supported, ValueError when a value does not fit its resource's type.
 */
export function encodeRecords(format: number, basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const codec = codecs.get(format);
  if (!codec) throw new NotAcceptableError(`content format ${format} is not supported`, basePath);
  return codec.encode(basePath, records, lookup);
}

/** The records of whole instances: one per value, resource instances in ascending order, as a Read lists them. */
export function instanceRecords(objectId: number, instances: readonly InstanceContent[]): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  for (const { instanceId, resources } of instances) {
    for (const [resourceId, content] of resources) contentRecords(objectId, instanceId, resourceId, content, out);
  }
  return out;
}

/**
 * The records of one resource's content (the runtime's one way from content to records): one record, or one per
 * resource instance in ascending order. Appended to `out` when given.
 */
export function contentRecords(
  objectId: number, instanceId: number, resourceId: number, content: ResourceContent, out: Lwm2mRecord[] = [],
): Lwm2mRecord[] {
  if (content instanceof Map) {
    for (const [riid, value] of sortedEntries(content as ReadonlyMap<number, ResourceValue>)) {
      out.push({ path: makePath(objectId, instanceId, resourceId, riid), value });
    }
  } else {
    out.push({ path: makePath(objectId, instanceId, resourceId), value: content as ResourceValue });
  }
  return out;
}

/**
 * Encodes whole instances for a Read of /o/i or /o (`basePath`; every instance belongs to its object): the same
 * payload as encodeRecords on instanceRecords(...), and the same errors. TLV and SenML CBOR, the formats a device
 * serves most, are written straight from the resource maps; the others go through records.
 */
export function encodeInstances(format: number, basePath: Lwm2mPath, instances: readonly InstanceContent[], lookup: ResourceLookup): Uint8Array {
  if (format === ContentFormat.TLV) return encodeTlvInstances(basePath, instances, lookup);
  if (format === ContentFormat.SENML_CBOR) return encodeSenmlCborInstances(basePath, instances, lookup);
  return encodeRecords(format, basePath, instanceRecords(basePath.objectId, instances), lookup);
}

/**
 * Decodes a payload sent to `basePath`. Throws UnsupportedContentFormatError (4.15) for an unknown format,
 * BadRequestError/ValueError (4.00) for a malformed payload, a type mismatch, or a record outside basePath,
 * NotFoundError (4.04) for a resource the lookup does not know. Values come out typed per the resource model.
 */
export function decodeRecords(format: number, basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  const codec = codecs.get(format);
  if (!codec) throw new UnsupportedContentFormatError(`content format ${format} is not supported`, basePath);
  try {
    return codec.decode(basePath, payload, lookup);
  } catch (e) {
    // Decoders check what they read; anything untyped that still escapes is a payload we failed to foresee.
    if (e instanceof Lwm2mError) throw e;
    throw new BadRequestError(`malformed payload: ${e instanceof Error ? e.message : String(e)}`, basePath);
  }
}
