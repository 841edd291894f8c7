// Composite payloads (LwM2M 1.1 Read-, Write- and Observe-Composite): path lists and records of several objects, in SenML JSON, SenML CBOR or LwM2M CBOR.
import { BadRequestError, NotAcceptableError, UnsupportedContentFormatError } from '../errors.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model.js';
import { CborWriter, decodeCbor } from './cbor.js';
import { JsonNumber, parseJson } from './json.js';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.js';
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson, SenmlLabel } from './senml.js';
import { ContentFormat, makePath, utf8Decoder, utf8Encoder, type Lwm2mRecord, type ResourceLookup } from './types.js';

/**
 * The formats a composite operation can use: they name each value by its full path. TLV, LwM2M JSON and the
 * single-value formats cannot carry paths of several objects (LwM2M 1.1 TS Core 7.4: SenML JSON, SenML CBOR; 1.2 adds LwM2M CBOR).
 */
export const COMPOSITE_FORMATS: ReadonlySet<number> = new Set([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR]);

export function isCompositeFormat(format: number): boolean {
  return COMPOSITE_FORMATS.has(format);
}

const FORMAT_LIST = 'SenML JSON (110), SenML CBOR (112) or LwM2M CBOR (11544)';

/** The records of a composite answer or notification (several objects, full names); 4.06 for a format that cannot carry them. */
export function encodeCompositeRecords(format: number, records: readonly Lwm2mRecord[], lookup: ResourceLookup): Uint8Array {
  switch (format) {
    case ContentFormat.SENML_JSON: return encodeSenmlJson(undefined, records, lookup);
    case ContentFormat.SENML_CBOR: return encodeSenmlCbor(undefined, records, lookup);
    case ContentFormat.LWM2M_CBOR: return encodeLwm2mCbor(undefined, records, lookup);
    default: throw new NotAcceptableError(`Content-Format ${format} cannot carry a composite answer; use ${FORMAT_LIST}`);
  }
}

/** The records of a Write-Composite (or a Send's body): 4.15 for another format, 4.00 malformed, 4.04 unknown resource. */
export function decodeCompositeRecords(format: number, payload: Uint8Array, lookup: ResourceLookup): Lwm2mRecord[] {
  switch (format) {
    case ContentFormat.SENML_JSON: return decodeSenmlJson(undefined, payload, lookup);
    case ContentFormat.SENML_CBOR: return decodeSenmlCbor(undefined, payload, lookup);
    case ContentFormat.LWM2M_CBOR: return decodeLwm2mCbor(undefined, payload, lookup);
    default: throw new UnsupportedContentFormatError(`Content-Format ${format} is not a composite format; use ${FORMAT_LIST}`);
  }
}

/**
 * The formats of a Send's body (POST /dp, the LwM2M 1.1 Information Reporting interface): SenML JSON and SenML CBOR, which name each value
 * by its full path and carry its time (bt, t). LwM2M CBOR (1.2) has no time field and is not offered.
 */
export const SEND_FORMATS: ReadonlySet<number> = new Set([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR]);

/** A Send's body: records of any objects with full names, `baseTime` (seconds since the epoch) as bt, each record's time as t. */
export function encodeSendRecords(format: number, records: readonly Lwm2mRecord[], lookup: ResourceLookup, baseTime: number): Uint8Array {
  switch (format) {
    case ContentFormat.SENML_JSON: return encodeSenmlJson(undefined, records, lookup, baseTime);
    case ContentFormat.SENML_CBOR: return encodeSenmlCbor(undefined, records, lookup, baseTime);
    default: throw new UnsupportedContentFormatError(`Content-Format ${format} cannot carry a Send; use SenML JSON (110) or SenML CBOR (112)`);
  }
}

/**
 * The records of a Send's body with their resolved times (bt + t). With the device's models (`lookup`) values are
 * typed by them; without, by their SenML field alone (v a number, or a bigint beyond 2^53; vlo an object link).
 * 4.15 for another format, 4.00 for a malformed body.
 */
export function decodeSendRecords(format: number, payload: Uint8Array, lookup?: ResourceLookup): Lwm2mRecord[] {
  switch (format) {
    case ContentFormat.SENML_JSON: return decodeSenmlJson(undefined, payload, lookup);
    case ContentFormat.SENML_CBOR: return decodeSenmlCbor(undefined, payload, lookup);
    default: throw new UnsupportedContentFormatError(`Content-Format ${format} cannot carry a Send; use SenML JSON (110) or SenML CBOR (112)`);
  }
}

/**
 * The body of a Read-Composite or Observe-Composite request: SenML records that carry only a name
 * (`[{"n":"/3/0/0"},{"n":"/1/0"}]`), or LwM2M CBOR maps with null leaves (`{3: {0: {0: null}}, 1: {0: null}}`).
 */
export function encodeCompositePaths(format: number, paths: readonly Lwm2mPath[]): Uint8Array {
  switch (format) {
    case ContentFormat.SENML_JSON:
      return utf8Encoder.encode(`[${paths.map((p) => `{"n":${JSON.stringify(formatPath(p))}}`).join(',')}]`);
    case ContentFormat.SENML_CBOR: {
      const w = new CborWriter(16 + paths.length * 16);
      w.head(4, paths.length);
      for (const p of paths) {
        w.head(5, 1);
        w.int(SenmlLabel.n);
        w.text(formatPath(p));
      }
      return w.result();
    }
    case ContentFormat.LWM2M_CBOR: {
      type Tree = Map<number, Tree | null>;
      const root: Tree = new Map();
      for (const p of paths) {
        const ids = pathIds(p);
        let node = root;
        ids.forEach((id, i) => {
          if (i === ids.length - 1) {
            node.set(id, null);
            return;
          }
          let next = node.get(id);
          // A path above this one was listed already: it covers this one.
          if (next === null) return;
          if (next === undefined) node.set(id, (next = new Map()));
          node = next;
        });
      }
      const w = new CborWriter(16 + paths.length * 8);
      const write = (t: Tree): void => {
        w.head(5, t.size);
        for (const [k, v] of t) {
          w.int(k);
          if (v === null) w.u8(0xf6);
          else write(v);
        }
      };
      write(root);
      return w.result();
    }
    default:
      throw new UnsupportedContentFormatError(`Content-Format ${format} is not a composite format; use ${FORMAT_LIST}`);
  }
}

function pathIds(p: Lwm2mPath): number[] {
  const out = [p.objectId];
  if (p.instanceId !== undefined) out.push(p.instanceId);
  if (p.resourceId !== undefined) out.push(p.resourceId);
  if (p.resourceInstanceId !== undefined) out.push(p.resourceInstanceId);
  return out;
}

const SENML_NAME_LABELS = new Set(['bn', 'n']);
const LABEL_NAMES = new Map<number, string>(Object.entries(SenmlLabel).map(([k, v]) => [v, k]));

function namedPath(name: string): Lwm2mPath {
  const path = name === '' ? undefined : parsePath(name);
  if (!path) throw new BadRequestError(`SenML name ${JSON.stringify(name.slice(0, 40))} is not an LwM2M path`);
  return path;
}

/** Resolves bn + n of path-only SenML records (either encoding, labels as names). */
function senmlPaths(records: ReadonlyArray<ReadonlyMap<string, unknown>>): Lwm2mPath[] {
  const out: Lwm2mPath[] = [];
  let bn = '';
  for (const r of records) {
    for (const key of r.keys()) {
      if (!SENML_NAME_LABELS.has(key)) {
        throw new BadRequestError(`a composite request's path list carries names only, not "${key}"`);
      }
    }
    const rbn = r.get('bn');
    if (rbn !== undefined) {
      if (typeof rbn !== 'string') throw new BadRequestError('SenML base name is not a string');
      bn = rbn;
    }
    const n = r.get('n') ?? '';
    if (typeof n !== 'string') throw new BadRequestError('SenML name is not a string');
    out.push(namedPath(bn + n));
  }
  return out;
}

/**
 * The paths a Read-Composite or Observe-Composite request lists, in order (duplicates kept: the caller decides).
 * 4.15 for a format no composite request uses, 4.00 for a malformed body or a record that is more than a name.
 */
export function decodeCompositePaths(format: number, payload: Uint8Array): Lwm2mPath[] {
  switch (format) {
    case ContentFormat.SENML_JSON: {
      let text: string;
      try {
        text = utf8Decoder.decode(payload);
      } catch {
        throw new BadRequestError('SenML JSON payload is not valid UTF-8');
      }
      const doc = parseJson(text, undefined);
      if (!Array.isArray(doc)) throw new BadRequestError('SenML JSON must be an array of records');
      return senmlPaths(doc.map((r) => {
        if (r === null || typeof r !== 'object' || Array.isArray(r) || r instanceof JsonNumber) {
          throw new BadRequestError('SenML JSON record is not an object');
        }
        return new Map(Object.entries(r));
      }));
    }
    case ContentFormat.SENML_CBOR: {
      const doc = decodeCbor(payload, undefined);
      if (!Array.isArray(doc)) throw new BadRequestError('SenML CBOR must be an array of records');
      return senmlPaths(doc.map((r: unknown) => {
        if (!(r instanceof Map)) throw new BadRequestError('SenML CBOR record is not a map');
        const named = new Map<string, unknown>();
        for (const [k, v] of r as Map<unknown, unknown>) {
          const name = typeof k === 'number' ? LABEL_NAMES.get(k) ?? `label ${k}` : String(k);
          named.set(name, v);
        }
        return named;
      }));
    }
    case ContentFormat.LWM2M_CBOR: {
      const out: Lwm2mPath[] = [];
      const walk = (node: unknown, prefix: readonly number[]): void => {
        if (!(node instanceof Map)) throw new BadRequestError('LwM2M CBOR expects a map of path components');
        for (const [key, child] of node as Map<unknown, unknown>) {
          const ids = Array.isArray(key) ? key : [key];
          if (ids.length === 0 || !ids.every((k) => typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 0xffff)) {
            throw new BadRequestError('LwM2M CBOR key is not a path component (or an array of them)');
          }
          const full = [...prefix, ...(ids as number[])];
          if (full.length > 4) throw new BadRequestError('LwM2M CBOR path is deeper than a resource instance');
          if (child === null || child === undefined) out.push(makePath(full[0]!, full[1], full[2], full[3]));
          else if (child instanceof Map) walk(child, full);
          else throw new BadRequestError(`LwM2M CBOR path list holds a value at /${full.join('/')} (leaves must be null)`);
        }
      };
      walk(decodeCbor(payload, undefined), []);
      return out;
    }
    default:
      throw new UnsupportedContentFormatError(`Content-Format ${format} is not a composite format; use ${FORMAT_LIST}`);
  }
}
