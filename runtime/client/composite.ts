// Composite operations (LwM2M 1.1): Read-Composite and Observe-Composite (FETCH /) and Write-Composite (iPATCH /), several paths in one request.
import {
  BadRequestError, Lwm2mError, MethodNotAllowedError, NotFoundError, UnsupportedContentFormatError,
} from '../errors.js';
import type { IncomingRequest, OutgoingResponse, Peer } from '../coap/types.js';
import {
  decodeCompositePaths, decodeCompositeRecords, encodeCompositeRecords, isCompositeFormat, type Lwm2mRecord,
} from '../codec/index.js';
import { NotAcceptableError } from '../errors.js';
import {
  formatPath, isExecutable, isWritable, type Lwm2mPath, type ResourceContent, type ResourceValue,
} from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import { parseObserveAttributes, type NotificationAttributes } from '../notify/attributes.js';
import type { ObjectRegistry } from './registry.js';

const SECURITY_OBJECT = 0;

/** An Observe-Composite (FETCH / with Observe = 0) the client answered: what its notifications carry. */
export interface CompositeObserveRegistration {
  readonly peer: Peer;
  readonly token: Uint8Array;
  /** The paths the request listed, duplicates removed, in request order. */
  readonly paths: readonly Lwm2mPath[];
  /** The Content-Format of the first response; notifications use the same. */
  readonly contentFormat: number;
  /** Attributes the request's query carried (LwM2M 1.2), for every listed path of this observation; checked against each. */
  readonly attributes?: NotificationAttributes;
}

/** Where Observe-Composite registers and its cancel (FETCH / with Observe = 1) lands; the client wires notify here. */
export interface CompositeObserveHooks {
  /** Returns the Observe sequence number of the first response, or undefined to answer without Observe. */
  onObserveComposite?(registration: CompositeObserveRegistration): number | undefined;
  onCancelObserveComposite?(peer: Peer, token: Uint8Array, paths: readonly Lwm2mPath[]): void;
}

/** The records of one path as a Read of it gives them; NotFoundError when the path is not there. */
export function pathRecords(registry: ObjectRegistry, path: Lwm2mPath): Lwm2mRecord[] {
  if (!registry.object(path.objectId)) throw new NotFoundError('no such object', path);
  const instances = path.instanceId === undefined ? registry.instances(path.objectId) : [registry.instance(path.objectId, path.instanceId)];
  const out: Lwm2mRecord[] = [];
  for (const inst of instances) {
    if (!inst) throw new NotFoundError('no such object instance', path);
    if (path.resourceId === undefined) {
      for (const [rid, content] of inst.readAll()) out.push(...contentRecords(inst, rid, content));
    } else if (path.resourceInstanceId !== undefined) {
      out.push({ path, value: inst.readResourceInstance(path.resourceId, path.resourceInstanceId) });
    } else {
      out.push(...contentRecords(inst, path.resourceId, inst.readResource(path.resourceId)));
    }
  }
  return out;
}

function contentRecords(inst: ObjectInstance, resourceId: number, content: ResourceContent): Lwm2mRecord[] {
  if (content instanceof Map) {
    return [...content.entries()].sort((a, b) => a[0] - b[0]).map(([ri, value]) => ({ path: inst.path(resourceId, ri), value }));
  }
  return [{ path: inst.path(resourceId), value: content as ResourceValue }];
}

/**
 * The records of several paths, each value once (a path may lie under another one listed), in request order.
 * A path the device lacks contributes nothing: Read-Composite answers what exists (as Leshan and Anjay do);
 * `found` says how many paths existed.
 */
export function compositeRecords(registry: ObjectRegistry, paths: readonly Lwm2mPath[]): { records: Lwm2mRecord[]; found: number } {
  const seen = new Set<string>();
  const records: Lwm2mRecord[] = [];
  let found = 0;
  for (const path of paths) {
    let rs: Lwm2mRecord[];
    try {
      rs = pathRecords(registry, path);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    found++;
    for (const r of rs) {
      const key = formatPath(r.path);
      if (seen.has(key)) continue;
      seen.add(key);
      records.push(r);
    }
  }
  return { records, found };
}

function uniquePaths(paths: readonly Lwm2mPath[]): Lwm2mPath[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = formatPath(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function refuseSecurity(paths: readonly Lwm2mPath[]): void {
  const p = paths.find((x) => x.objectId === SECURITY_OBJECT);
  // The Security object holds keys: a management server never reads or changes it, whole or in part.
  if (p) throw new Lwm2mError('4.01', 'the Security object is not accessible to a management server', p);
}

function requestFormat(req: IncomingRequest, operation: string): number {
  if (req.contentFormat === undefined) throw new BadRequestError(`${operation} needs a Content-Format`);
  if (!isCompositeFormat(req.contentFormat)) {
    throw new UnsupportedContentFormatError(`${operation} in Content-Format ${req.contentFormat}: use SenML JSON (110), SenML CBOR (112) or LwM2M CBOR (11544)`);
  }
  return req.contentFormat;
}

export interface CompositeOptions {
  readonly registry: ObjectRegistry;
  readonly observe?: CompositeObserveHooks;
}

/** Serves FETCH and iPATCH on the root path: Read-Composite, Observe-Composite and its cancel, Write-Composite. */
export class CompositeOperations {
  readonly #o: CompositeOptions;

  constructor(options: CompositeOptions) {
    this.#o = options;
  }

  /** Answers one FETCH or iPATCH; an Lwm2mError thrown is the answer's code (the router maps it). */
  async handle(req: IncomingRequest): Promise<OutgoingResponse> {
    if (req.path.length > 0) {
      throw new MethodNotAllowedError(`${req.method} is served on the root path only (composite operations), not /${req.path.join('/')}`);
    }
    if (req.method === 'FETCH') return this.#read(req);
    if (req.method === 'iPATCH') return this.#write(req);
    throw new MethodNotAllowedError(`${req.method} is no composite operation`);
  }

  // ---- Read-Composite, Observe-Composite ----

  #read(req: IncomingRequest): OutgoingResponse {
    const format = requestFormat(req, 'Read-Composite');
    const paths = uniquePaths(decodeCompositePaths(format, req.payload));
    if (paths.length === 0) throw new BadRequestError('Read-Composite lists no path');
    refuseSecurity(paths);
    // Without Accept the answer comes in the request's format (which can carry it: it is a composite format).
    const accept = req.accept ?? format;
    if (!isCompositeFormat(accept)) {
      throw new NotAcceptableError(`Content-Format ${accept} cannot carry a composite answer; use SenML JSON (110), SenML CBOR (112) or LwM2M CBOR (11544)`);
    }
    const { records, found } = compositeRecords(this.#o.registry, paths);
    if (found === 0 && req.observe !== 1) {
      throw new NotFoundError(`none of the ${paths.length} path${paths.length > 1 ? 's' : ''} exists (${paths.map(formatPath).join(', ')})`);
    }
    const payload = encodeCompositeRecords(accept, records, this.#o.registry.lookup);
    let observe: number | undefined;
    if (req.observe === 0 && this.#o.observe?.onObserveComposite) {
      // The query's attributes hold for every path, so each must take them (edge on a Boolean resource, gt on a number).
      let attributes: NotificationAttributes = {};
      for (const p of paths) {
        attributes = parseObserveAttributes(req.query, p, p.resourceId !== undefined ? this.#o.registry.lookup(p.objectId, p.resourceId) : undefined);
      }
      observe = this.#o.observe.onObserveComposite({ peer: req.peer, token: req.token, paths, contentFormat: accept, attributes });
    } else if (req.observe === 1) {
      this.#o.observe?.onCancelObserveComposite?.(req.peer, req.token, paths);
    }
    return observe === undefined
      ? { code: '2.05', contentFormat: accept, payload }
      : { code: '2.05', contentFormat: accept, payload, observe };
  }

  // ---- Write-Composite ----

  /**
   * All or nothing: every record is located and checked, and every instance's write hooks run, before any value is
   * stored. A single resource is replaced by its record; a resource instance record updates that instance of its
   * (multiple) resource and leaves the others, as a partial update does.
   */
  async #write(req: IncomingRequest): Promise<OutgoingResponse> {
    const format = requestFormat(req, 'Write-Composite');
    const registry = this.#o.registry;
    const records = decodeCompositeRecords(format, req.payload, registry.lookup);
    if (records.length === 0) throw new BadRequestError('Write-Composite carries no value');
    refuseSecurity(records.map((r) => r.path));
    const byInstance = new Map<ObjectInstance, Map<number, ResourceContent>>();
    const given = new Set<string>();
    for (const { path, value } of records) {
      const key = formatPath(path);
      if (given.has(key)) throw new BadRequestError('value given twice', path);
      given.add(key);
      const inst = registry.instance(path.objectId, path.instanceId!);
      if (!inst) throw new NotFoundError(registry.object(path.objectId) ? 'no such object instance' : 'no such object', path);
      const r = inst.definition.resource(path.resourceId!)!;
      if (isExecutable(r) || !isWritable(r)) {
        throw new MethodNotAllowedError(`resource is not writable (operations: ${r.operations || 'none'})`, path);
      }
      let values = byInstance.get(inst);
      if (!values) byInstance.set(inst, (values = new Map()));
      if (path.resourceInstanceId === undefined) {
        values.set(path.resourceId!, value);
      } else {
        let m = values.get(path.resourceId!) as Map<number, ResourceValue> | undefined;
        if (!m) values.set(path.resourceId!, (m = new Map()));
        m.set(path.resourceInstanceId, value);
      }
    }
    const commits: Array<() => void> = [];
    for (const [inst, values] of byInstance) commits.push(await inst.prepareWrite(values, 'update'));
    for (const commit of commits) commit();
    return { code: '2.04' };
  }
}
