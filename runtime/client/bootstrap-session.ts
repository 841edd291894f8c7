// The client's side of one bootstrap session: Bootstrap-Write, -Delete, -Discover, -Read and -Finish on a staged copy of /0, /1 and the app's objects' writes.
import type { IncomingRequest, OutgoingResponse } from '../coap/types.js';
import { ContentFormat, decodeRecords, encodeRecords, formatLinks, isSupportedFormat, type Link, type Lwm2mRecord } from '../codec/index.js';
import { encodeInstances } from '../codec/records.js';
import type { ResourceLookup } from '../codec/types.js';
import { BadRequestError, Lwm2mError, MethodNotAllowedError, NotAcceptableError, NotFoundError, UnsupportedContentFormatError } from '../errors.js';
import { formatPath, isExecutable, parsePath, type Lwm2mPath, type ResourceContent, type ResourceValue } from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import { checkContent } from '../values/check.js';
import { checkServerTransport } from './connect.js';
import type { ObjectRegistry } from './registry.js';
import { copySecurityInstance, SECURITY_OBJECT, SecurityInstance, SecurityMode } from './security-object.js';
import { SECURITY_MODEL } from './security-model.js';
import { SERVER_MODEL } from './server-model.js';
import { SERVER_OBJECT, ServerInstance, ServerResource } from './server-object.js';

/** Which bootstrap operation a request was, for the device's 'bootstrap' events. */
export type BootstrapOperation = 'write' | 'delete' | 'discover' | 'read' | 'finish' | 'other';

export interface BootstrapAnswer {
  readonly response: OutgoingResponse;
  readonly operation: BootstrapOperation;
  readonly path: Lwm2mPath | undefined;
  /** Set on a Finish answered 2.04: the staged configuration is ready to commit. */
  readonly finished?: boolean;
}

const utf8 = new TextEncoder();

function diagnostic(message: string): Uint8Array {
  return utf8.encode(message.length > 120 ? `${message.slice(0, 117)}...` : message);
}

/** A /1 instance made from stored values (the staging's copies and the store's). */
export function serverInstanceFrom(instanceId: number, values: ReadonlyMap<number, ResourceContent>): ServerInstance {
  const inst = new ServerInstance(instanceId);
  inst.restore(values);
  return inst;
}

/** The stored values of an instance, readable or not (a /0 instance's resources have no operations). */
export function instanceValues(inst: ObjectInstance): Map<number, ResourceContent> {
  return inst instanceof SecurityInstance ? inst.values() : inst.readAll();
}

/**
 * The problem that makes a Bootstrap-Finish 4.06 (LwM2M 1.1 6.1.7.6), or undefined: at least one LwM2M Server
 * account whose /0 instance (not the bootstrap one) has a usable URI and credentials and whose Short Server ID
 * matches a /1 instance. Names paths, never values.
 */
export function finishProblem(security: readonly SecurityInstance[], servers: readonly ObjectInstance[]): string | undefined {
  const ssids = new Set<number>();
  for (const s of servers) {
    const v = s.hasResource(ServerResource.SHORT_SERVER_ID) ? s.readResource(ServerResource.SHORT_SERVER_ID) : undefined;
    if (typeof v === 'number') ssids.add(v);
  }
  let usable = 0;
  for (const inst of security) {
    let account;
    try {
      account = inst.account();
    } catch (e) {
      return (e as Error).message;
    }
    if (account.bootstrap) continue;
    const where = `/0/${inst.instanceId}`;
    if (account.shortServerId === undefined) return `${where} has no Short Server ID`;
    if (!ssids.has(account.shortServerId)) return `${where}: no /1 instance has Short Server ID ${account.shortServerId}`;
    if (account.mode !== SecurityMode.PSK && account.mode !== SecurityMode.NO_SEC) {
      return `${where}: Security Mode ${account.mode} is not supported (PSK 0 and NoSec 3 are)`;
    }
    const psk = account.mode === SecurityMode.PSK;
    try {
      checkServerTransport(account.uri, psk ? { pskIdentity: account.pskIdentity ?? '', pskKey: account.pskKey ?? new Uint8Array(0) } : {});
    } catch (e) {
      return `${where}: ${(e as Error).message}`;
    }
    if (psk && (account.pskIdentity === undefined || account.pskKey === undefined)) return `${where}: PSK mode without an identity and a key`;
    usable++;
  }
  return usable > 0 ? undefined : 'no LwM2M Server account: a /0 instance (not the bootstrap one) with a matching /1 instance';
}

/** A Bootstrap-Write to an app object, checked by the app's hooks at Finish: the instance and the commit that stores its values. */
interface PreparedAppWrite {
  readonly instance: ObjectInstance;
  readonly created: boolean;
  readonly commit: () => void;
}

/**
 * One bootstrap session. Every operation works on copies of the /0 and /1 instances, and Bootstrap-Writes to the
 * app's objects are staged as values; the device's registry changes only when `commit()` runs after a Finish answered
 * 2.04, so a failed or abandoned bootstrap keeps nothing. A Bootstrap-Write the models refuse is 4.00 and changes
 * nothing, even in the staging; the app's write hooks run at Finish, before its answer, and a refusal there makes the
 * Finish 4.06. Bootstrap-Delete reaches /0 and /1 only.
 */
export class BootstrapSession {
  readonly #registry: ObjectRegistry;
  readonly #format: number;
  readonly #lwm2mVersion: string;
  readonly #staged = new Map<number, Map<number, ObjectInstance>>([[SECURITY_OBJECT, new Map()], [SERVER_OBJECT, new Map()]]);
  readonly #lookup: ResourceLookup;
  /** Bootstrap-Writes to other objects: objectId → instanceId → values, checked against the model. */
  readonly #appWrites = new Map<number, Map<number, Map<number, ResourceContent>>>();
  #prepared: PreparedAppWrite[] = [];

  constructor(registry: ObjectRegistry, options: { preferredFormat?: number; lwm2mVersion?: string } = {}) {
    this.#registry = registry;
    this.#format = options.preferredFormat ?? ContentFormat.TLV;
    this.#lwm2mVersion = options.lwm2mVersion ?? '1.1';
    this.#lookup = (o, r) => (o === SECURITY_OBJECT ? SECURITY_MODEL.resource(r) : o === SERVER_OBJECT ? SERVER_MODEL.resource(r) : registry.lookup(o, r));
    for (const inst of registry.instances(SECURITY_OBJECT)) {
      if (inst instanceof SecurityInstance) this.#staged.get(SECURITY_OBJECT)!.set(inst.instanceId, copySecurityInstance(inst));
    }
    for (const inst of registry.instances(SERVER_OBJECT)) {
      this.#staged.get(SERVER_OBJECT)!.set(inst.instanceId, serverInstanceFrom(inst.instanceId, inst.readAll()));
    }
  }

  /** The staged /0 instances, by ascending id. */
  security(): SecurityInstance[] {
    return [...this.#staged.get(SECURITY_OBJECT)!.values()].sort((a, b) => a.instanceId - b.instanceId) as SecurityInstance[];
  }

  /** The staged /1 instances, by ascending id. */
  servers(): ObjectInstance[] {
    return [...this.#staged.get(SERVER_OBJECT)!.values()].sort((a, b) => a.instanceId - b.instanceId);
  }

  /** Replaces the registry's /0 and /1 instances with the staged ones, and stores the app objects' writes Finish prepared. */
  commit(): void {
    for (const objectId of [SECURITY_OBJECT, SERVER_OBJECT]) {
      for (const inst of this.#registry.instances(objectId)) this.#registry.removeInstance(objectId, inst.instanceId);
    }
    if (!this.#registry.object(SECURITY_OBJECT)) this.#registry.addObject(SECURITY_MODEL);
    for (const inst of [...this.security(), ...this.servers()]) this.#registry.addInstance(inst);
    for (const w of this.#prepared) {
      w.commit();
      if (w.created) this.#registry.addInstance(w.instance);
    }
    this.#prepared = [];
  }

  /**
   * Runs the app's write hooks on every staged write to its objects (a new instance made by the object's factory),
   * storing nothing; the problem, naming the path, when one refuses.
   */
  async #prepareAppWrites(): Promise<string | undefined> {
    const prepared: PreparedAppWrite[] = [];
    for (const [objectId, instances] of this.#appWrites) {
      for (const [instanceId, values] of instances) {
        const existing = this.#registry.instance(objectId, instanceId);
        try {
          const instance = existing ?? this.#registry.object(objectId)!.create!(instanceId, values);
          // A Bootstrap-Write may set resources a DM server only reads (LwM2M 1.1 5.2.7.4), as a Create does.
          const commit = await instance.prepareWrite(values, 'replace', { create: true });
          prepared.push({ instance, created: !existing, commit });
        } catch (err) {
          return `/${objectId}/${instanceId}: ${err instanceof Lwm2mError ? err.message : 'the app refused the values'}`;
        }
      }
    }
    this.#prepared = prepared;
    return undefined;
  }

  /** Serves one request of the bootstrap server; never throws. */
  async handle(req: IncomingRequest): Promise<BootstrapAnswer> {
    let path: Lwm2mPath | undefined;
    let operation: BootstrapOperation = 'other';
    try {
      if (req.method === 'POST' && req.path.length === 1 && req.path[0] === 'bs') {
        operation = 'finish';
        const problem = finishProblem(this.security(), this.servers()) ?? await this.#prepareAppWrites();
        if (problem) return { response: { code: '4.06', payload: diagnostic(problem) }, operation, path };
        return { response: { code: '2.04' }, operation, path, finished: true };
      }
      if (req.path.length === 0) {
        if (req.method === 'DELETE') return { response: this.#delete(undefined), operation: 'delete', path };
        if (req.method === 'GET' && req.accept === ContentFormat.LINK_FORMAT) return { response: this.#discover(undefined), operation: 'discover', path };
        throw new MethodNotAllowedError('not a bootstrap operation on /');
      }
      path = parsePath(req.path.join('/'));
      if (!path) throw new NotFoundError(`not an LwM2M path: /${req.path.join('/')}`);
      switch (req.method) {
        case 'PUT':
          operation = 'write';
          return { response: this.#write(req, path), operation, path };
        case 'DELETE':
          operation = 'delete';
          return { response: this.#delete(path), operation, path };
        case 'GET':
          if (req.accept === ContentFormat.LINK_FORMAT) {
            operation = 'discover';
            return { response: this.#discover(path), operation, path };
          }
          operation = 'read';
          return { response: this.#read(req, path), operation, path };
        default:
          throw new MethodNotAllowedError(`${req.method} is not a bootstrap operation`, path);
      }
    } catch (err) {
      if (err instanceof Lwm2mError) return { response: { code: err.code, payload: diagnostic(err.message) }, operation, path };
      // Decoder and app errors: a bad request, said without echoing the payload (it may hold a key).
      return { response: { code: '4.00', payload: diagnostic('bad bootstrap request') }, operation, path };
    }
  }

  #stagedObject(path: Lwm2mPath): Map<number, ObjectInstance> {
    const staged = this.#staged.get(path.objectId);
    if (staged) return staged;
    if (!this.#registry.object(path.objectId)) throw new NotFoundError('no such object', path);
    throw new MethodNotAllowedError('a Bootstrap-Delete reaches only /0 and /1 here', path);
  }

  #write(req: IncomingRequest, path: Lwm2mPath): OutgoingResponse {
    const app = !this.#staged.has(path.objectId);
    if (app && !this.#registry.object(path.objectId)) throw new NotFoundError('no such object', path);
    if (req.contentFormat === undefined) throw new BadRequestError('a Bootstrap-Write needs a Content-Format', path);
    if (!isSupportedFormat(req.contentFormat) || req.contentFormat === ContentFormat.LINK_FORMAT) {
      throw new UnsupportedContentFormatError(`Content-Format ${req.contentFormat} is not supported`, path);
    }
    let records: Lwm2mRecord[];
    try {
      records = decodeRecords(req.contentFormat, path, req.payload, this.#lookup);
    } catch (err) {
      if (err instanceof Lwm2mError) throw err;
      throw new BadRequestError('malformed payload', path);
    }
    // Every touched instance is written on a copy; the copies replace the staged instances only when all succeeded.
    const byInstance = new Map<number, Map<number, ResourceContent>>();
    for (const rec of records) {
      const p = rec.path;
      if (p.objectId !== path.objectId || p.instanceId === undefined || p.resourceId === undefined
        || (path.instanceId !== undefined && p.instanceId !== path.instanceId)
        || (path.resourceId !== undefined && p.resourceId !== path.resourceId)) {
        throw new BadRequestError(`payload names ${formatPath(p)}, outside the target`, path);
      }
      const model = this.#lookup(p.objectId, p.resourceId);
      if (!model) throw new NotFoundError('no such resource in this object', p);
      let values = byInstance.get(p.instanceId);
      if (!values) byInstance.set(p.instanceId, values = new Map());
      if (model.multiple) {
        if (p.resourceInstanceId === undefined) throw new BadRequestError('a multiple resource needs resource instance ids', p);
        let m = values.get(p.resourceId) as Map<number, ResourceValue> | undefined;
        if (!(m instanceof Map)) values.set(p.resourceId, m = new Map());
        m.set(p.resourceInstanceId, rec.value);
      } else {
        if (p.resourceInstanceId !== undefined) throw new BadRequestError('a single resource has no resource instances', p);
        values.set(p.resourceId, rec.value);
      }
    }
    if (app) return this.#stageAppWrite(path, byInstance);
    const staged = this.#stagedObject(path);
    const next = new Map<number, ObjectInstance>();
    for (const [iid, values] of byInstance) {
      const current = staged.get(iid);
      const merged = new Map(current ? instanceValues(current) : []);
      for (const [rid, v] of values) merged.set(rid, v);
      next.set(iid, path.objectId === SECURITY_OBJECT ? this.#security(iid, merged) : serverInstanceFrom(iid, merged));
    }
    for (const [iid, inst] of next) staged.set(iid, inst);
    return { code: '2.04' };
  }

  /** Checks a write to an app object against its model and stages it; the instance must exist or the object have a factory. */
  #stageAppWrite(path: Lwm2mPath, byInstance: ReadonlyMap<number, ReadonlyMap<number, ResourceContent>>): OutgoingResponse {
    const entry = this.#registry.object(path.objectId)!;
    const checked = new Map<number, Map<number, ResourceContent>>();
    for (const [iid, values] of byInstance) {
      if (!entry.instances.has(iid) && !entry.create) throw new NotFoundError('no such instance, and the object takes no new ones', { objectId: path.objectId, instanceId: iid });
      const out = new Map(this.#appWrites.get(path.objectId)?.get(iid));
      for (const [rid, content] of values) {
        const model = entry.definition.resource(rid)!;
        const where = { objectId: path.objectId, instanceId: iid, resourceId: rid };
        if (isExecutable(model)) throw new MethodNotAllowedError('an executable resource has no value', where);
        out.set(rid, checkContent(model, content, where));
      }
      checked.set(iid, out);
    }
    let object = this.#appWrites.get(path.objectId);
    if (!object) this.#appWrites.set(path.objectId, object = new Map());
    for (const [iid, values] of checked) object.set(iid, values);
    return { code: '2.04' };
  }

  #security(instanceId: number, values: ReadonlyMap<number, ResourceContent>): SecurityInstance {
    const inst = new SecurityInstance(instanceId);
    inst.restore(values);
    return inst;
  }

  #delete(path: Lwm2mPath | undefined): OutgoingResponse {
    if (path && (path.resourceId !== undefined)) throw new BadRequestError('Bootstrap-Delete targets an object or an instance', path);
    const objects = path ? [path.objectId] : [SECURITY_OBJECT, SERVER_OBJECT];
    for (const objectId of objects) {
      const staged = this.#stagedObject({ objectId });
      for (const [iid, inst] of [...staged]) {
        if (path?.instanceId !== undefined && iid !== path.instanceId) continue;
        // The Bootstrap-Server account stays (LwM2M 1.1 5.2.7.5): it is how this session goes on.
        if (inst instanceof SecurityInstance && inst.value(1) === true) {
          if (path?.instanceId !== undefined) throw new BadRequestError('the Bootstrap-Server account cannot be deleted', path);
          continue;
        }
        staged.delete(iid);
      }
    }
    return { code: '2.02' };
  }

  #discover(path: Lwm2mPath | undefined): OutgoingResponse {
    if (path && path.instanceId !== undefined) throw new BadRequestError('Bootstrap-Discover targets / or an object', path);
    const links: Link[] = [{ target: '/', attributes: [['lwm2m', this.#lwm2mVersion]] }];
    const ids = new Set([SECURITY_OBJECT, SERVER_OBJECT, ...this.#registry.objects().map((e) => e.definition.id)]);
    for (const objectId of [...ids].sort((a, b) => a - b)) {
      if (path && path.objectId !== objectId) continue;
      const staged = this.#staged.get(objectId);
      const instances = staged ? [...staged.values()].sort((a, b) => a.instanceId - b.instanceId) : this.#registry.instances(objectId);
      const def = objectId === SECURITY_OBJECT ? SECURITY_MODEL : objectId === SERVER_OBJECT ? SERVER_MODEL : this.#registry.object(objectId)?.definition;
      if (!def) throw new NotFoundError('no such object', { objectId });
      const ver = def.objectVersion && def.objectVersion !== '1.0' ? [['ver', def.objectVersion] as const] : [];
      // Instances a staged Bootstrap-Write creates are listed as the Finish would make them.
      const listed = instances.map((inst) => ({ id: inst.instanceId, attributes: this.#discoverAttributes(inst) }));
      for (const id of this.#appWrites.get(objectId)?.keys() ?? []) if (!listed.some((l) => l.id === id)) listed.push({ id, attributes: [] });
      listed.sort((a, b) => a.id - b.id);
      if (listed.length === 0 || ver.length > 0) links.push({ target: `/${objectId}`, attributes: ver });
      for (const l of listed) links.push({ target: `/${objectId}/${l.id}`, attributes: l.attributes });
    }
    return { code: '2.05', contentFormat: ContentFormat.LINK_FORMAT, payload: utf8.encode(formatLinks(links)) };
  }

  /** ssid and uri of a server account, ssid of a Server instance (LwM2M 1.1 5.2.7.3); nothing secret. */
  #discoverAttributes(inst: ObjectInstance): Array<readonly [string, string | number]> {
    if (inst instanceof SecurityInstance) {
      const ssid = inst.value(10);
      const uri = inst.value(0);
      if (inst.value(1) === true) return typeof uri === 'string' ? [['uri', uri]] : [];
      return [...(typeof ssid === 'number' ? [['ssid', ssid] as const] : []), ...(typeof uri === 'string' ? [['uri', uri] as const] : [])];
    }
    if (inst.definition.id === SERVER_OBJECT && inst.hasResource(ServerResource.SHORT_SERVER_ID)) {
      const ssid = inst.readResource(ServerResource.SHORT_SERVER_ID);
      return typeof ssid === 'number' ? [['ssid', ssid]] : [];
    }
    return [];
  }

  #read(req: IncomingRequest, path: Lwm2mPath): OutgoingResponse {
    if (path.objectId === SECURITY_OBJECT) throw new Lwm2mError('4.01', 'the Security object is never read', path);
    if (path.objectId !== SERVER_OBJECT) throw new MethodNotAllowedError('Bootstrap-Read reaches the Server object only', path);
    const staged = this.#staged.get(SERVER_OBJECT)!;
    const picked = path.instanceId === undefined ? this.servers() : [staged.get(path.instanceId)].filter((i): i is ObjectInstance => i !== undefined);
    if (path.instanceId !== undefined && picked.length === 0) throw new NotFoundError('no such object instance', path);
    let format = req.accept ?? (path.resourceId !== undefined ? ContentFormat.TEXT : this.#format);
    try {
      if (path.resourceId === undefined) {
        return { code: '2.05', contentFormat: format, payload: encodeInstances(format, path, picked.map((i) => ({ instanceId: i.instanceId, resources: i.readAll() })), this.#lookup) };
      }
      const content = picked[0]!.readResource(path.resourceId);
      if (content instanceof Map && req.accept === undefined) format = this.#format;
      const records: Lwm2mRecord[] = content instanceof Map
        ? [...content].map(([ri, value]) => ({ path: { ...path, resourceInstanceId: ri }, value }))
        : [{ path, value: content as ResourceValue }];
      return { code: '2.05', contentFormat: format, payload: encodeRecords(format, path, records, this.#lookup) };
    } catch (err) {
      if (err instanceof Lwm2mError) throw err;
      throw new NotAcceptableError(`cannot encode as Content-Format ${format}`, path);
    }
  }
}
