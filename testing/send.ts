// The test server's side of Send (LwM2M 1.1, POST /dp): checking and decoding what a registered device sent, as typed records.
import {
  ContentFormat, decodeSendRecords, formatPath, Lwm2mError,
  type IncomingRequest, type Lwm2mRecord, type ObjectDefinition, type OutgoingResponse, type Peer, type ResourceValue,
} from 'lwm2m-gen/runtime';
import { lookupOf } from './composite.js';

/** RFC 8428 4.5.3: resolved SenML times below 2^28 s are relative to the time of receipt. */
const RELATIVE_TIME_LIMIT = 2 ** 28;

const utf8 = new TextEncoder();

/** One value of a Send as the server read it. */
export interface SentValue {
  /** "/3/0/9" */
  readonly path: string;
  /** Typed by its SenML field (v a number, or a bigint beyond 2^53); `typed(objects)` types it by the device's models. */
  readonly value: ResourceValue;
  /** When the device captured it (bt + t, relative times taken from the time of receipt), if the record said. */
  readonly time: Date | undefined;
}

/** One Send the server accepted (2.04), in the order they came. */
export interface SendReport {
  readonly endpoint: string;
  readonly peer: Peer;
  /** SenML JSON (110) or SenML CBOR (112). */
  readonly contentFormat: number;
  readonly values: readonly SentValue[];
  /** The values by path ("/3/0/9" → 87); a path sent twice keeps its last value. */
  readonly byPath: ReadonlyMap<string, ResourceValue>;
  /** When the server took it, ms since the epoch. */
  readonly receivedAt: number;
  /** The body's size in bytes (the body itself stays out of the server's log). */
  readonly bytes: number;
  /** The values decoded again with the device's object definitions: Time as Date, Objlnk as links, Integer vs Float. */
  typed(objects: readonly ObjectDefinition[]): SentValue[];
}

function resolveTime(seconds: number | undefined, receivedAt: number): Date | undefined {
  if (seconds === undefined) return undefined;
  return new Date(Math.round(seconds < RELATIVE_TIME_LIMIT ? receivedAt + seconds * 1000 : seconds * 1000));
}

function sentValues(records: readonly Lwm2mRecord[], receivedAt: number): SentValue[] {
  return records.map((r) => ({ path: formatPath(r.path), value: r.value, time: resolveTime(r.time, receivedAt) }));
}

/**
 * Takes a POST /dp from a registered endpoint: 2.04 with the report, 4.15 for a body in another Content-Format than
 * SenML JSON or CBOR (or none), 4.00 for a body that does not decode (its reason in the diagnostic payload).
 */
export function acceptSend(req: IncomingRequest, endpoint: string): { response: OutgoingResponse; report?: SendReport } {
  const format = req.contentFormat;
  if (format !== ContentFormat.SENML_JSON && format !== ContentFormat.SENML_CBOR) {
    return { response: { code: '4.15', payload: utf8.encode(`a Send is SenML JSON (110) or SenML CBOR (112), not ${format ?? 'a body without Content-Format'}`) } };
  }
  const receivedAt = Date.now();
  let records: Lwm2mRecord[];
  try {
    records = decodeSendRecords(format, req.payload);
    if (records.length === 0) throw new Error('the Send carries no value');
  } catch (err) {
    const why = err instanceof Lwm2mError || err instanceof Error ? err.message : String(err);
    return { response: { code: '4.00', payload: utf8.encode(why.slice(0, 120)) } };
  }
  const payload = req.payload.slice();
  const values = sentValues(records, receivedAt);
  return {
    response: { code: '2.04' },
    report: {
      endpoint, peer: req.peer, contentFormat: format, values, receivedAt, bytes: payload.length,
      byPath: new Map(values.map((v) => [v.path, v.value])),
      typed: (objects) => sentValues(decodeSendRecords(format, payload, lookupOf(objects)), receivedAt),
    },
  };
}
