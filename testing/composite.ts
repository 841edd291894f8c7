// The test server's composite operations (LwM2M 1.1): readComposite, writeComposite, observeComposite and its cancel, typed like its other operations.
import {
  ContentFormat, decodeCompositeRecords, encodeCompositePaths, encodeCompositeRecords, parsePath,
  type IncomingResponse, type Lwm2mPath, type Lwm2mRecord, type ObjectDefinition, type OutgoingRequest, type ResourceLookup,
  type ResourceValue,
} from 'lwm2m-gen/runtime';

/** What the composite operations need of a test server: a request to a registered endpoint (both test servers have it). */
export interface CompositeServer {
  request(endpointName: string, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<IncomingResponse>;
}

/** What a server's observe tap returns for any observing request: the first response and what follows. */
export interface CompositeObservationTap {
  readonly response: IncomingResponse;
  readonly notifications: ReadonlyArray<{ readonly code: string; readonly payload: Uint8Array; readonly contentFormat: number | undefined; readonly observe: number | undefined }>;
  next(): Promise<{ readonly code: string; readonly payload: Uint8Array; readonly contentFormat: number | undefined; readonly observe: number | undefined }>;
}

/** A server that can observe with any request (FETCH with Observe included), as its observe() does with GET. */
export interface CompositeObservingServer extends CompositeServer {
  observeRequest(endpointName: string, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<CompositeObservationTap>;
}

/** The formats of a composite request: SenML JSON (the default), SenML CBOR, LwM2M CBOR. */
export type CompositeFormat = typeof ContentFormat.SENML_JSON | typeof ContentFormat.SENML_CBOR | typeof ContentFormat.LWM2M_CBOR;

export interface CompositeOptions {
  /** Content-Format of the request body; SenML JSON by default. */
  readonly format?: CompositeFormat;
  /** Accept of the answer; the request's format when absent (the device then answers in it). */
  readonly accept?: CompositeFormat;
  /** Uri-Query items, e.g. the LwM2M 1.2 attributes of an Observe-Composite (`['pmin=10', 'hqmax=5']`). */
  readonly query?: readonly string[];
}

/** A composite answer: the response, and its values by path ("/3/0/9" → 87) when it was a 2.05. */
export interface CompositeContent {
  readonly response: IncomingResponse;
  readonly code: string;
  readonly records: readonly Lwm2mRecord[];
  readonly values: ReadonlyMap<string, ResourceValue>;
}

/** The resource models the test server decodes values with: the device's object definitions. */
export function lookupOf(objects: readonly ObjectDefinition[]): ResourceLookup {
  const byId = new Map(objects.map((o) => [o.id, o]));
  return (objectId, resourceId) => byId.get(objectId)?.resource(resourceId);
}

function toPath(p: string | Lwm2mPath): Lwm2mPath {
  if (typeof p !== 'string') return p;
  const path = parsePath(p);
  if (!path) throw new TypeError(`not an LwM2M path: ${p}`);
  return path;
}

function content(response: IncomingResponse, lookup: ResourceLookup): CompositeContent {
  const records = response.code === '2.05' && response.contentFormat !== undefined
    ? decodeCompositeRecords(response.contentFormat, response.payload, lookup) : [];
  const values = new Map(records.map((r) => [
    `/${[r.path.objectId, r.path.instanceId, r.path.resourceId, r.path.resourceInstanceId].filter((x) => x !== undefined).join('/')}`,
    r.value,
  ]));
  return { response, code: response.code, records, values };
}

function fetchRequest(paths: readonly (string | Lwm2mPath)[], options: CompositeOptions, observe?: number): Omit<OutgoingRequest, 'path'> {
  const format = options.format ?? ContentFormat.SENML_JSON;
  return {
    method: 'FETCH', contentFormat: format, payload: encodeCompositePaths(format, paths.map(toPath)),
    ...(options.accept !== undefined ? { accept: options.accept } : {}),
    ...(observe !== undefined ? { observe } : {}),
    ...(options.query !== undefined && observe === 0 ? { query: options.query } : {}),
  };
}

/** Read-Composite: FETCH / listing `paths`; the values come back decoded with the device's models. */
export async function readComposite(
  server: CompositeServer, endpointName: string, objects: readonly ObjectDefinition[],
  paths: readonly (string | Lwm2mPath)[], options: CompositeOptions = {},
): Promise<CompositeContent> {
  const response = await server.request(endpointName, '/', fetchRequest(paths, options));
  return content(response, lookupOf(objects));
}

/** Write-Composite: iPATCH / with `values` by path ("/3/0/14" → "+02:00"); the device changes all of them or none. */
export function writeComposite(
  server: CompositeServer, endpointName: string, objects: readonly ObjectDefinition[],
  values: Readonly<Record<string, ResourceValue>> | ReadonlyMap<string, ResourceValue>, options: Pick<CompositeOptions, 'format'> = {},
): Promise<IncomingResponse> {
  const format = options.format ?? ContentFormat.SENML_JSON;
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
  const records = entries.map(([p, value]) => ({ path: toPath(p), value }));
  const payload = encodeCompositeRecords(format, records, lookupOf(objects));
  return server.request(endpointName, '/', { method: 'iPATCH', contentFormat: format, payload });
}

/** An Observe-Composite as the test sees it: the first answer, and each notification decoded. */
export interface CompositeObservation {
  readonly first: CompositeContent;
  next(): Promise<CompositeContent>;
  /** FETCH / with Observe = 1 and the same paths (the device cancels by token, else by the paths observed). */
  cancel(): Promise<CompositeContent>;
}

/** Observe-Composite: FETCH / with Observe = 0 listing `paths`; notifications carry every path's value. */
export async function observeComposite(
  server: CompositeObservingServer, endpointName: string, objects: readonly ObjectDefinition[],
  paths: readonly (string | Lwm2mPath)[], options: CompositeOptions = {},
): Promise<CompositeObservation> {
  const lookup = lookupOf(objects);
  const tap = await server.observeRequest(endpointName, '/', fetchRequest(paths, options, 0));
  return {
    first: content(tap.response, lookup),
    next: async () => {
      const n = await tap.next();
      const response: IncomingResponse = {
        ...tap.response, code: n.code as IncomingResponse['code'], payload: n.payload,
        ...(n.contentFormat !== undefined ? { contentFormat: n.contentFormat } : {}),
        ...(n.observe !== undefined ? { observe: n.observe } : {}),
      };
      return content(response, lookup);
    },
    cancel: async () => content(await server.request(endpointName, '/', fetchRequest(paths, options, 1)), lookup),
  };
}
