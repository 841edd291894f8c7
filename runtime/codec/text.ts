// Plain text (0) and opaque (42): one value of a single resource or resource instance, no structure around it.
import { BadRequestError, NotAcceptableError, ValueError } from '../errors.js';
import type { Lwm2mPath, ResourceType, ResourceValue } from '../model.js';
import {
  checkMultiplicity, encodeType, formatObjlnk, fromBase64, inInteger, inTime, isUnder, outBoolean, outFloat,
  outInteger, outObjlnk, outOpaque, outString, outTime, parseObjlnk, pathDepth, requireModel, toBase64,
  utf8Decoder, utf8Encoder, type Lwm2mRecord, type ResourceLookup,
} from './types.js';

/** The one record a text or opaque payload can carry; anything else is 4.06 for that Accept. */
function singleRecord(basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup, format: string): Lwm2mRecord {
  const depth = pathDepth(basePath);
  const inside = records.filter((r) => isUnder(basePath, r.path));
  const r = inside[0];
  if (depth < 3 || inside.length !== 1 || !r || pathDepth(r.path) !== depth) {
    throw new NotAcceptableError(`${format} carries one value of a single resource or resource instance`, basePath);
  }
  const model = lookup(basePath.objectId, basePath.resourceId!);
  if (depth === 3 && model?.multiple) {
    throw new NotAcceptableError(`${format} cannot carry a multiple resource`, basePath);
  }
  return r;
}

export function encodeText(basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const r = singleRecord(basePath, records, lookup, 'text/plain');
  return utf8Encoder.encode(formatTextValue(encodeType(lookup, r.path, r.value), r.value, r.path));
}

export function encodeOpaque(basePath: Lwm2mPath, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  const r = singleRecord(basePath, records, lookup, 'application/octet-stream');
  if (encodeType(lookup, r.path, r.value) !== 'Opaque') {
    throw new NotAcceptableError('application/octet-stream carries Opaque resources only', basePath);
  }
  return outOpaque(r.value, r.path);
}

/** The text form of one value (also used by other formats that write values as text). */
export function formatTextValue(type: ResourceType, v: ResourceValue, path: Lwm2mPath): string {
  switch (type) {
    case 'String':
    case 'Corelnk':
      return outString(v, path);
    case 'Integer':
    case 'Unsigned Integer':
      return outInteger(v, type === 'Unsigned Integer', path).toString();
    case 'Float':
      return String(outFloat(v, path));
    case 'Boolean':
      return outBoolean(v, path) ? '1' : '0';
    case 'Time':
      return String(outTime(v, path));
    case 'Objlnk':
      return formatObjlnk(outObjlnk(v, path));
    case 'Opaque':
      return toBase64(outOpaque(v, path), false);
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

const INTEGER_TEXT = /^[+-]?\d{1,20}$/;
const FLOAT_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parses the text form of one value per the resource type. */
export function parseTextValue(type: ResourceType, text: string, path: Lwm2mPath): ResourceValue {
  switch (type) {
    case 'String':
    case 'Corelnk':
      return text;
    case 'Integer':
    case 'Unsigned Integer':
      if (!INTEGER_TEXT.test(text)) throw new ValueError(`${JSON.stringify(text.slice(0, 40))} is not an integer`, path);
      return inInteger(BigInt(text), type === 'Unsigned Integer', path);
    case 'Float': {
      const n = Number(text);
      if (!FLOAT_TEXT.test(text) || !Number.isFinite(n)) throw new ValueError(`${JSON.stringify(text.slice(0, 40))} is not a number`, path);
      return n;
    }
    case 'Boolean':
      if (text === '1') return true;
      if (text === '0') return false;
      throw new ValueError(`${JSON.stringify(text.slice(0, 40))} is not a boolean ("0" or "1")`, path);
    case 'Time':
      if (!INTEGER_TEXT.test(text)) throw new ValueError(`${JSON.stringify(text.slice(0, 40))} is not a time in seconds`, path);
      return inTime(BigInt(text), path);
    case 'Objlnk':
      return parseObjlnk(text, path);
    case 'Opaque':
      return fromBase64(text, path);
    case 'none':
      throw new ValueError('an executable resource has no value', path);
  }
}

function decodeTarget(basePath: Lwm2mPath, lookup: ResourceLookup, format: string) {
  if (pathDepth(basePath) < 3) {
    throw new BadRequestError(`${format} carries one value of a resource or resource instance, not an object or instance`, basePath);
  }
  const model = requireModel(lookup, basePath);
  checkMultiplicity(model, basePath);
  return model;
}

export function decodeText(basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  const model = decodeTarget(basePath, lookup, 'text/plain');
  let text: string;
  try {
    text = utf8Decoder.decode(payload);
  } catch {
    throw new BadRequestError('text/plain payload is not valid UTF-8', basePath);
  }
  return [{ path: basePath, value: parseTextValue(model.type, text, basePath) }];
}

export function decodeOpaque(basePath: Lwm2mPath, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  const model = decodeTarget(basePath, lookup, 'application/octet-stream');
  if (model.type !== 'Opaque') throw new BadRequestError(`application/octet-stream cannot carry a ${model.type} resource`, basePath);
  return [{ path: basePath, value: payload.slice() }];
}
