// Routes device-management requests (Read, Write, Execute, Discover, Create, Delete, Write-Attributes; composite ones to composite.ts) to object instances.
import {
  BadRequestError, Lwm2mError, MethodNotAllowedError, NotAcceptableError, NotFoundError,
  UnsupportedContentFormatError, type CoapCode,
} from '../errors.js';
import type { IncomingRequest, OutgoingResponse, Peer } from '../coap/types.js';
import {
  ContentFormat, decodeRecords, encodeRecords, isSupportedFormat, type Lwm2mRecord,
} from '../codec/index.js';
// Not (yet) re-exported by the codec index: the record-free encoder of whole instances.
import { contentRecords, encodeInstances } from '../codec/records.js';
import type { InstanceContent } from '../codec/types.js';
import {
  formatPath, isExecutable, isWritable, parsePath,
  type Lwm2mPath, type ResourceContent, type ResourceModel, type ResourceValue,
} from '../model.js';
import type { AfterResponseTask } from '../object/execute-args.js';
import type { ObjectInstance } from '../object/instance.js';
import { parseObserveAttributes, parseWriteAttributes, type AttributeStore, type NotificationAttributes } from '../notify/index.js';
import { CompositeOperations, type CompositeObserveHooks } from './composite.js';
import { discoverLinks } from './links.js';
import type { ObjectRegistry } from './registry.js';

const SECURITY_OBJECT = 0;
const text = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

/** What the router knows about a GET with Observe=0 that it has answered successfully. */
export interface ObserveRegistration {
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly path: Lwm2mPath;
  /** The Content-Format of the first response; notifications should use the same. */
  readonly contentFormat: number;
  readonly request: IncomingRequest;
  /** Attributes the Observe's query carried (LwM2M 1.2), checked as Write-Attributes checks them; for this observation only. */
  readonly attributes?: NotificationAttributes;
}

/**
 * The Observe hook: the notify side plugs in here. `onObserve` returns the Observe sequence number of
 * the first response, or undefined to answer without Observe (the observation was not accepted).
 */
export interface ObserveHooks extends CompositeObserveHooks {
  onObserve?(request: ObserveRegistration): number | undefined;
  onCancelObserve?(peer: Peer, token: Uint8Array, path: Lwm2mPath): void;
}

export interface RouterOptions {
  readonly registry: ObjectRegistry;
  /** Content-Format for Reads of more than one value when the server sends no Accept (TLV or SenML CBOR, ...). */
  readonly preferredFormat: number;
  /** Where Write-Attributes lands and Discover reads from (one store per server). */
  readonly attributes: AttributeStore;
  /** THE OBSERVE HOOK: where GET with Observe=0 registers and Observe=1 cancels (the client wires notify here). */
  readonly observe?: ObserveHooks;
  /** Told after a Write-Attributes changed the attributes at a path, so observations re-read them. */
  readonly onAttributesWritten?: (path: Lwm2mPath) => void;
  /** Instances the server may not delete (its own Server object instance). */
  readonly protectedInstance?: (objectId: number, instanceId: number) => boolean;
  /** Instances the server may read but not change (another server's Server instance): 4.01 for anything but GET. */
  readonly foreignInstance?: (objectId: number, instanceId: number) => boolean;
  /** Called with errors from app code (a throwing hook or handler) that became 5.00. */
  readonly onInternalError?: (error: Error, request: IncomingRequest) => void;
}

/** The outcome of routing: the response and the LwM2M path it concerned (for the 'request' event). */
export interface RoutedResponse {
  readonly response: OutgoingResponse;
  readonly path: Lwm2mPath | undefined;
}

type InstancePath = { objectId: number; instanceId: number };

function fail(code: CoapCode, message: string, path?: Lwm2mPath): never {
  throw new Lwm2mError(code, message, path);
}

function diagnostic(message: string): Uint8Array {
  // A diagnostic payload carries no Content-Format (RFC 7252 5.5.2); keep it short for small MTUs.
  return utf8.encode(message.length > 120 ? `${message.slice(0, 117)}...` : message);
}

/** The id of a plain path segment ("0".."65535", at most 5 digits), else -1. */
function segmentId(s: string): number {
  if (s.length === 0 || s.length > 5) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n <= 65535 ? n : -1;
}

/**
 * The LwM2M path of Uri-Path segments that are plain ids, without the join/split/regex round trip of parsePath;
 * undefined for anything else, which then goes through parsePath and keeps its exact rules.
 */
function quickPath(segments: readonly string[]): Lwm2mPath | undefined {
  const n = segments.length;
  if (n > 4) return undefined;
  const o = segmentId(segments[0]!);
  if (o < 0) return undefined;
  if (n === 1) return { objectId: o };
  const i = segmentId(segments[1]!);
  if (i < 0) return undefined;
  if (n === 2) return { objectId: o, instanceId: i };
  const r = segmentId(segments[2]!);
  if (r < 0) return undefined;
  if (n === 3) return { objectId: o, instanceId: i, resourceId: r };
  const ri = segmentId(segments[3]!);
  if (ri < 0) return undefined;
  return { objectId: o, instanceId: i, resourceId: r, resourceInstanceId: ri };
}

export class RequestRouter {
  readonly #o: RouterOptions;
  readonly #composite: CompositeOperations;

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#composite = new CompositeOperations({ registry: options.registry, ...(options.observe ? { observe: options.observe } : {}) });
  }

  /** Routes one request; never throws: every failure becomes an error response. */
  async handle(request: IncomingRequest): Promise<RoutedResponse> {
    let path: Lwm2mPath | undefined;
    try {
      // FETCH and iPATCH are the composite operations (LwM2M 1.1), addressed to the root with paths in the body.
      if (request.method === 'FETCH' || request.method === 'iPATCH') return { response: await this.#composite.handle(request), path };
      path = this.#parse(request);
      const response = await this.#dispatch(request, path);
      return { response, path };
    } catch (err) {
      if (err instanceof Lwm2mError) {
        return { response: { code: err.code, payload: diagnostic(err.message) }, path };
      }
      const error = err instanceof Error ? err : new Error(String(err));
      this.#o.onInternalError?.(error, request);
      return { response: { code: '5.00', payload: diagnostic('internal error') }, path };
    }
  }

  #parse(request: IncomingRequest): Lwm2mPath {
    if (request.path.length === 0) throw new NotFoundError('no LwM2M path');
    const fast = quickPath(request.path);
    if (fast) return fast;
    const path = parsePath(request.path.join('/'));
    if (!path) throw new NotFoundError(`not an LwM2M path: /${request.path.join('/')}`);
    return path;
  }

  async #dispatch(req: IncomingRequest, path: Lwm2mPath): Promise<OutgoingResponse> {
    const registry = this.#o.registry;
    const entry = registry.object(path.objectId);
    if (!entry) throw new NotFoundError('no such object', path);
    if (path.objectId === SECURITY_OBJECT) {
      // The Security object holds keys: a management server never reads or changes it.
      if (req.method === 'DELETE') throw new MethodNotAllowedError('the Security object cannot be deleted', path);
      fail('4.01', 'the Security object is not accessible to a management server', path);
    }
    if (req.method !== 'GET' && path.instanceId !== undefined && this.#o.foreignInstance?.(path.objectId, path.instanceId)) {
      fail('4.01', "another server's instance: this server may not change it", path);
    }
    switch (req.method) {
      case 'GET':
        if (req.accept === ContentFormat.LINK_FORMAT) return this.#discover(path);
        return this.#read(req, path);
      case 'PUT':
        if (req.payload.length === 0 && req.contentFormat === undefined) return this.#writeAttributes(req, path);
        return this.#write(req, path, 'replace');
      case 'POST':
        if (path.instanceId === undefined) return this.#create(req, path);
        if (path.resourceId === undefined) return this.#write(req, path, 'update');
        if (path.resourceInstanceId !== undefined) throw new MethodNotAllowedError('POST on a resource instance', path);
        return this.#postResource(req, path);
      case 'DELETE':
        return this.#delete(path);
      default:
        throw new MethodNotAllowedError(`${req.method} is not a device-management operation here`, path);
    }
  }

  #instance(path: Lwm2mPath): ObjectInstance {
    if (path.instanceId === undefined) throw new MethodNotAllowedError('operation needs an object instance', path);
    const inst = this.#o.registry.instance(path.objectId, path.instanceId);
    if (!inst) throw new NotFoundError('no such object instance', path);
    return inst;
  }

  #resourceModel(path: Lwm2mPath): ResourceModel {
    const r = this.#o.registry.object(path.objectId)?.definition.resource(path.resourceId!);
    if (!r) throw new NotFoundError('no such resource in this object', path);
    return r;
  }

  // ---- Read ----

  #read(req: IncomingRequest, path: Lwm2mPath): OutgoingResponse {
    const lookup = this.#o.registry.lookup;
    let encode: (format: number) => Uint8Array;
    let single: ResourceModel | undefined;
    if (path.resourceId === undefined) {
      // A whole instance or object, the common Read: encoded straight from each instance's values, no records.
      const instances: InstanceContent[] = [];
      if (path.instanceId === undefined) {
        for (const inst of this.#o.registry.instances(path.objectId)) instances.push({ instanceId: inst.instanceId, resources: inst.readAll() });
      } else {
        const inst = this.#instance(path);
        instances.push({ instanceId: inst.instanceId, resources: inst.readAll() });
      }
      encode = (format) => encodeInstances(format, path, instances, lookup);
    } else {
      const inst = this.#instance(path);
      const records: Lwm2mRecord[] = [];
      const r = this.#resourceModel(path);
      if (path.resourceInstanceId !== undefined) {
        const value = inst.readResourceInstance(path.resourceId, path.resourceInstanceId);
        records.push({ path: inst.path(path.resourceId, path.resourceInstanceId), value });
        single = r;
      } else {
        const content = inst.readResource(path.resourceId);
        contentRecords(inst.definition.id, inst.instanceId, path.resourceId, content, records);
        if (!r.multiple) single = r;
      }
      encode = (format) => encodeRecords(format, path, records, lookup);
    }
    const format = this.#readFormat(req.accept, path, single);
    let payload: Uint8Array;
    try {
      payload = encode(format);
    } catch (err) {
      if (err instanceof Lwm2mError) throw err;
      throw new NotAcceptableError(`cannot encode as Content-Format ${format}: ${(err as Error).message}`, path);
    }
    let observe: number | undefined;
    if (req.observe === 0 && this.#o.observe?.onObserve) {
      const attributes = parseObserveAttributes(req.query, path, path.resourceId !== undefined ? this.#resourceModel(path) : undefined);
      observe = this.#o.observe.onObserve({ peer: req.peer, token: req.token, path, contentFormat: format, request: req, attributes });
    } else if (req.observe === 1) {
      this.#o.observe?.onCancelObserve?.(req.peer, req.token, path);
    }
    return observe === undefined
      ? { code: '2.05', contentFormat: format, payload }
      : { code: '2.05', contentFormat: format, payload, observe };
  }

  /** The Content-Format of a Read: the Accept when it fits the target, text/plain for one value, else the preferred. */
  #readFormat(accept: number | undefined, path: Lwm2mPath, single: ResourceModel | undefined): number {
    if (accept === undefined) {
      if (single) return single.type === 'Opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
      return this.#o.preferredFormat;
    }
    if (!isSupportedFormat(accept)) throw new NotAcceptableError(`Content-Format ${accept} is not supported`, path);
    if (accept === ContentFormat.TEXT && !single) {
      throw new NotAcceptableError('text/plain carries a single value only', path);
    }
    if (accept === ContentFormat.OPAQUE && single?.type !== 'Opaque') {
      throw new NotAcceptableError('application/octet-stream carries a single Opaque value only', path);
    }
    return accept;
  }

  // ---- Write ----

  #decode(req: IncomingRequest, path: Lwm2mPath): Lwm2mRecord[] {
    if (req.contentFormat === undefined) throw new BadRequestError('a Write needs a Content-Format', path);
    if (!isSupportedFormat(req.contentFormat) || req.contentFormat === ContentFormat.LINK_FORMAT) {
      throw new UnsupportedContentFormatError(`Content-Format ${req.contentFormat} is not supported`, path);
    }
    try {
      return decodeRecords(req.contentFormat, path, req.payload, this.#o.registry.lookup);
    } catch (err) {
      if (err instanceof Lwm2mError) throw err;
      throw new BadRequestError(`malformed payload: ${(err as Error).message}`, path);
    }
  }

  /**
   * Groups records into resource contents for one instance. Every record must lie inside the target;
   * a multiple resource collects its resource instances into a Map.
   */
  #group(records: readonly Lwm2mRecord[], target: Lwm2mPath, inst: InstancePath): Map<number, ResourceContent> {
    const values = new Map<number, ResourceContent>();
    for (const rec of records) {
      const p = rec.path;
      if (p.objectId !== inst.objectId || (p.instanceId !== undefined && p.instanceId !== inst.instanceId)
        || p.resourceId === undefined
        || (target.resourceId !== undefined && p.resourceId !== target.resourceId)
        || (target.resourceInstanceId !== undefined && p.resourceInstanceId !== target.resourceInstanceId)) {
        throw new BadRequestError(`payload names ${formatPath(p)}, outside the target`, target);
      }
      const r = this.#o.registry.lookup(p.objectId, p.resourceId);
      if (!r) throw new NotFoundError('no such resource in this object', p);
      if (r.multiple) {
        if (p.resourceInstanceId === undefined) throw new BadRequestError('a multiple resource needs resource instance ids', p);
        let m = values.get(p.resourceId);
        if (!(m instanceof Map)) {
          m = new Map<number, ResourceValue>();
          values.set(p.resourceId, m);
        }
        if ((m as Map<number, ResourceValue>).has(p.resourceInstanceId)) throw new BadRequestError('resource instance given twice', p);
        (m as Map<number, ResourceValue>).set(p.resourceInstanceId, rec.value);
      } else {
        if (p.resourceInstanceId !== undefined) throw new BadRequestError('a single resource has no resource instances', p);
        if (values.has(p.resourceId)) throw new BadRequestError('resource given twice', p);
        values.set(p.resourceId, rec.value);
      }
    }
    return values;
  }

  async #write(req: IncomingRequest, path: Lwm2mPath, mode: 'replace' | 'update'): Promise<OutgoingResponse> {
    if (path.instanceId === undefined) throw new MethodNotAllowedError('Write needs an instance or resource path', path);
    const inst = this.#instance(path);
    const ipath = { objectId: path.objectId, instanceId: path.instanceId };
    if (path.resourceId !== undefined) {
      const r = this.#resourceModel(path);
      if (isExecutable(r) || !isWritable(r)) {
        throw new MethodNotAllowedError(`resource is not writable (operations: ${r.operations || 'none'})`, path);
      }
    }
    const values = this.#group(this.#decode(req, path), path, ipath);
    if (values.size === 0 && path.resourceId !== undefined) {
      const r = this.#resourceModel(path);
      // An empty multiple resource is a legitimate Replace (remove all its instances); anything else says nothing.
      if (!(r.multiple && path.resourceInstanceId === undefined && mode === 'replace')) {
        throw new BadRequestError('payload holds no value for the target', path);
      }
      values.set(path.resourceId, new Map());
    }
    if (path.resourceInstanceId !== undefined) {
      const v = (values.get(path.resourceId!) as Map<number, ResourceValue> | undefined)?.get(path.resourceInstanceId);
      if (v === undefined) throw new BadRequestError('payload holds no value for the target', path);
      await inst.writeResourceInstance(path.resourceId!, path.resourceInstanceId, v);
    } else {
      // One writeResources call: every value is checked and every hook runs before anything is stored.
      await inst.writeResources(values, mode, { instance: path.resourceId === undefined });
    }
    return { code: '2.04' };
  }

  async #postResource(req: IncomingRequest, path: Lwm2mPath): Promise<OutgoingResponse> {
    const inst = this.#instance(path);
    const r = this.#resourceModel(path);
    if (isExecutable(r)) {
      let raw: string;
      try {
        raw = text.decode(req.payload);
      } catch {
        throw new BadRequestError('Execute arguments are not UTF-8', path);
      }
      const tasks: AfterResponseTask[] = [];
      await inst.execute(path.resourceId!, raw, (task) => tasks.push(task));
      if (tasks.length > 0) this.#runAfterResponse(tasks, req);
      return { code: '2.04' };
    }
    if (r.multiple && isWritable(r)) return this.#write(req, path, 'update');
    throw new MethodNotAllowedError(`resource is not executable (operations: ${r.operations || 'none'})`, path);
  }

  /**
   * Runs the work an Execute deferred (ExecuteArguments.afterResponse), e.g. a Reboot. The endpoint writes the
   * response in the continuation of this handler, before the next macrotask; failures go to onInternalError.
   */
  #runAfterResponse(tasks: readonly AfterResponseTask[], req: IncomingRequest): void {
    setTimeout(() => {
      void (async () => {
        for (const task of tasks) {
          try {
            await task();
          } catch (err) {
            this.#o.onInternalError?.(err instanceof Error ? err : new Error(String(err)), req);
          }
        }
      })();
    }, 0);
  }

  // ---- Create, Delete ----

  async #create(req: IncomingRequest, path: Lwm2mPath): Promise<OutgoingResponse> {
    const registry = this.#o.registry;
    const entry = registry.object(path.objectId)!;
    if (!entry.create) throw new MethodNotAllowedError('this object does not support Create', path);
    const records = this.#decode(req, path);
    const ids = new Set(records.map((r) => r.path.instanceId));
    if (ids.size > 1) throw new BadRequestError('Create of more than one instance at once is not supported', path);
    let instanceId = records[0]?.path.instanceId;
    if (instanceId === undefined) {
      if (!entry.definition.multiple && entry.instances.size > 0) {
        throw new BadRequestError('single-instance object already has its instance', path);
      }
      instanceId = registry.freeInstanceId(path.objectId);
      if (instanceId === undefined) fail('4.00', 'no free instance id', path);
    }
    const target = { objectId: path.objectId, instanceId };
    if (entry.instances.has(instanceId)) throw new BadRequestError('instance already exists', target);
    if (!entry.definition.multiple && entry.instances.size > 0) {
      throw new BadRequestError('single-instance object already has its instance', target);
    }
    if (instanceId > 65534) throw new BadRequestError('instance id 65535 is reserved', target);
    const values = this.#group(records, target, target);
    const inst = entry.create(instanceId, values);
    if (inst.definition.id !== path.objectId || inst.instanceId !== instanceId) {
      throw new Error(`the create factory of object ${path.objectId} returned /${inst.definition.id}/${inst.instanceId}`);
    }
    // LwM2M Create: the payload carries every mandatory resource the server can write; mandatory read-only ones
    // may come from the device (the factory), but the new instance must hold them all.
    const missing = inst.definition.resources.filter((r) => r.mandatory && !isExecutable(r) && !values.has(r.id)
      && (isWritable(r) || !inst.hasResource(r.id)));
    if (missing.length > 0) {
      throw new BadRequestError(`Create lacks mandatory resource${missing.length > 1 ? 's' : ''} ${missing.map((r) => `${r.id} (${r.name})`).join(', ')}`, target);
    }
    // The instance joins the registry only once its values are in: a refused value leaves nothing behind.
    await inst.writeResources(values, 'replace', { create: true });
    registry.addInstance(inst);
    return { code: '2.01', locationPath: [String(path.objectId), String(instanceId)] };
  }

  #delete(path: Lwm2mPath): OutgoingResponse {
    if (path.instanceId === undefined || path.resourceId !== undefined) {
      throw new MethodNotAllowedError('Delete applies to an object instance', path);
    }
    this.#instance(path);
    // Like Create, Delete is for objects the app added with Create/Delete support (a create factory); the
    // Device, Firmware Update and the client's own Server instance stay (4.05), as Wakaama's client answers.
    if (!this.#o.registry.object(path.objectId)!.create) {
      throw new MethodNotAllowedError('this object does not support Delete', path);
    }
    if (this.#o.protectedInstance?.(path.objectId, path.instanceId)) {
      throw new MethodNotAllowedError('this instance cannot be deleted', path);
    }
    this.#o.registry.removeInstance(path.objectId, path.instanceId);
    return { code: '2.02' };
  }

  // ---- Discover, Write-Attributes ----

  #discover(path: Lwm2mPath): OutgoingResponse {
    if (path.resourceInstanceId !== undefined) throw new BadRequestError('Discover does not apply to a resource instance', path);
    const entry = this.#o.registry.object(path.objectId)!;
    let instances: ObjectInstance[];
    if (path.instanceId === undefined) instances = this.#o.registry.instances(path.objectId);
    else instances = [this.#instance(path)];
    if (path.resourceId !== undefined) {
      const inst = instances[0]!;
      if (!entry.definition.resource(path.resourceId) || !inst.resourceIds().includes(path.resourceId)) {
        throw new NotFoundError('resource not present in this instance', path);
      }
    }
    const body = discoverLinks({
      target: path,
      definition: entry.definition,
      instances: instances.map((inst) => ({
        instance: inst,
        resourceIds: path.resourceId !== undefined ? [path.resourceId] : inst.resourceIds(),
      })),
      attributes: (p) => this.#o.attributes.linkAttributes(p),
    });
    return { code: '2.05', contentFormat: ContentFormat.LINK_FORMAT, payload: utf8.encode(body) };
  }

  #writeAttributes(req: IncomingRequest, path: Lwm2mPath): OutgoingResponse {
    if (path.resourceInstanceId !== undefined) {
      throw new BadRequestError('Write-Attributes on a resource instance is not supported', path);
    }
    let resource: ResourceModel | undefined;
    if (path.instanceId !== undefined) {
      const inst = this.#instance(path);
      if (path.resourceId !== undefined) {
        resource = this.#resourceModel(path);
        if (!inst.hasResource(path.resourceId)) throw new NotFoundError('resource not present in this instance', path);
      }
    }
    // parse and apply both refuse as a whole, so a bad query leaves the stored attributes as they were.
    this.#o.attributes.apply(path, parseWriteAttributes(req.query, path, resource));
    this.#o.onAttributesWritten?.(path);
    return { code: '2.04' };
  }
}
