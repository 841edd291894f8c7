// A registered device as a test talks to it: every LwM2M device-management operation, typed by the generated classes.
import {
  ContentFormat, decodeRecords, encodeRecords, formatPath, parseLinks,
  type IncomingResponse, type Link, type Lwm2mPath, type Lwm2mRecord, type ObjectDefinition, type ObjectInstance,
  type OutgoingRequest, type ResourceContent, type ResourceLookup, type ResourceModel, type ResourceValue,
} from 'lwm2m-gen/runtime';
import { nameObjects } from '../generator/names.js';
import { RequestError, ResponseFormatError } from './errors.js';
import { TypedObservation, type ObservedPayload } from './observation.js';
import type { Registration, SendReport, TestLwm2mServer, WaitOptions } from './server.js';
import type {
  AttributesInput, CreateOptions, ExecuteArgumentsInput, ExecuteMember, FormatOptions, InstanceInput, InstanceValues,
  ObjectClass, ResourceMember, ResourceValueOf, WritableValue, WriteOptions,
} from './types.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Member name ↔ resource id of one object class, from the generator's own naming (the names the class has). */
interface Members {
  readonly model: ObjectDefinition;
  readonly byMember: ReadonlyMap<string, ResourceModel>;
  readonly memberOf: ReadonlyMap<number, string>;
  readonly lookup: ResourceLookup;
}

const membersCache = new WeakMap<ObjectDefinition, Members>();

function membersOf(type: ObjectClass): Members {
  const model = type.model;
  const cached = membersCache.get(model);
  if (cached) return cached;
  const byMember = new Map<string, ResourceModel>();
  const memberOf = new Map<number, string>();
  for (const r of nameObjects([model])[0]!.resources) {
    byMember.set(r.member, r.model);
    memberOf.set(r.model.id, r.member);
  }
  const made: Members = {
    model, byMember, memberOf, lookup: (o, r) => (o === model.id ? model.resource(r) : undefined),
  };
  membersCache.set(model, made);
  return made;
}

function resourceOf(m: Members, member: string): ResourceModel {
  const r = m.byMember.get(member);
  if (!r) throw new TypeError(`${member} is not a resource of ${m.model.name} (/${m.model.id})`);
  return r;
}

/** A path without undefined members, as exactOptionalPropertyTypes wants. */
function pathOf(objectId: number, instanceId?: number, resourceId?: number, resourceInstanceId?: number): Lwm2mPath {
  if (instanceId === undefined) return { objectId };
  if (resourceId === undefined) return { objectId, instanceId };
  if (resourceInstanceId === undefined) return { objectId, instanceId, resourceId };
  return { objectId, instanceId, resourceId, resourceInstanceId };
}

function singleValueFormat(r: ResourceModel): number {
  return r.type === 'Opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
}

/** The records of one resource's content at a path (a Map or an array is a multiple resource's instances). */
function recordsOf(path: Lwm2mPath, content: unknown): Lwm2mRecord[] {
  const { objectId, instanceId, resourceId } = path;
  if (content instanceof Map || Array.isArray(content)) {
    const entries: Array<[number, unknown]> = content instanceof Map ? [...content.entries()] : content.map((v, i) => [i, v]);
    return entries.map(([riid, value]) => ({ path: pathOf(objectId, instanceId, resourceId, riid), value: value as ResourceValue }));
  }
  return [{ path, value: content as ResourceValue }];
}

function executePayload(args: ExecuteArgumentsInput): string {
  if (typeof args === 'string') return args;
  return Object.entries(args).map(([n, v]) => (v === null ? n : `${n}='${v}'`)).join(',');
}

function attributesQuery(attributes: AttributesInput): string[] {
  return Object.entries(attributes).filter(([, v]) => v !== undefined).map(([k, v]) => (v === null ? k : `${k}=${v}`));
}

/**
 * A device registered with a {@link TestLwm2mServer}, from `await server.registration('dev-001')`. Each operation
 * names its target by a generated class (`DeviceBase`), an instance id and a member name (`'batteryLevel'`), so a
 * resource the object does not have, or a value of the wrong type, is a compile error:
 *
 * ```ts
 * const dev = await server.registration('dev-001');
 * const level: number = await dev.read(DeviceBase, 0, 'batteryLevel');
 * await dev.write(DeviceBase, 0, 'currentTime', new Date());
 * await dev.execute(DeviceBase, 0, 'reboot');
 * ```
 *
 * A request the device refuses rejects with a {@link RequestError} carrying the response code and the path.
 */
export class RegisteredDevice {
  readonly server: TestLwm2mServer;
  /** The endpoint name the device registered with. */
  readonly endpoint: string;

  /** @internal Made by TestLwm2mServer.registration. */
  constructor(server: TestLwm2mServer, endpoint: string) {
    this.server = server;
    this.endpoint = endpoint;
  }

  /** The device's current registration (lifetime, binding, object links, …); throws once it has de-registered. */
  get info(): Registration {
    const r = this.server.findRegistration(this.endpoint);
    if (!r) throw new Error(`${this.endpoint} is not registered`);
    return r;
  }

  async #send(operation: string, path: Lwm2mPath, req: Omit<OutgoingRequest, 'path'>, ok: string): Promise<IncomingResponse> {
    const res = await this.server.request(this.endpoint, formatPath(path), req);
    if (res.code !== ok) throw new RequestError(operation, formatPath(path), res.code, text.decode(res.payload) || undefined);
    return res;
  }

  #decode(m: Members, path: Lwm2mPath, res: ObservedPayload): Lwm2mRecord[] {
    if (res.contentFormat === undefined) throw new ResponseFormatError(formatPath(path), 'the response has no Content-Format');
    try {
      return decodeRecords(res.contentFormat, path, res.payload, m.lookup);
    } catch (e) {
      throw new ResponseFormatError(formatPath(path), `cannot decode the response (format ${res.contentFormat}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  #resourceContent(m: Members, path: Lwm2mPath, res: ObservedPayload): ResourceContent {
    const r = resourceOf(m, m.memberOf.get(path.resourceId!)!);
    const records = this.#decode(m, path, res);
    if (r.multiple) return new Map(records.map((rec) => [rec.path.resourceInstanceId ?? 0, rec.value]));
    const rec = records.find((x) => x.path.resourceId === path.resourceId);
    if (!rec) throw new ResponseFormatError(formatPath(path), 'the response carries no value for the resource');
    return rec.value;
  }

  #instanceContent(m: Members, path: Lwm2mPath, res: ObservedPayload): Record<string, ResourceContent> {
    const out: Record<string, ResourceContent> = {};
    const multiple = new Map<number, Map<number, ResourceValue>>();
    for (const rec of this.#decode(m, path, res)) {
      const id = rec.path.resourceId!;
      const member = m.memberOf.get(id);
      if (member === undefined) continue;
      if (m.model.resource(id)?.multiple) {
        let map = multiple.get(id);
        if (!map) multiple.set(id, (map = new Map()));
        map.set(rec.path.resourceInstanceId ?? 0, rec.value);
        out[member] = map;
      } else out[member] = rec.value;
    }
    return out;
  }

  // ---- Read ----

  /** Reads one resource (its value; a Map of its instances for a multiple resource). */
  read<I extends ObjectInstance, K extends ResourceMember<I>>(
    type: ObjectClass<I>, instanceId: number, resource: K, options?: FormatOptions): Promise<ResourceValueOf<I, K>>;
  /** Reads an instance: its resources by member name. */
  read<I extends ObjectInstance>(type: ObjectClass<I>, instanceId: number, options?: FormatOptions): Promise<InstanceValues<I>>;
  async read(type: ObjectClass, instanceId: number, resource?: string | FormatOptions, options?: FormatOptions): Promise<unknown> {
    const m = membersOf(type);
    const opts = typeof resource === 'object' ? resource : options;
    const req: Omit<OutgoingRequest, 'path'> = opts?.format === undefined ? { method: 'GET' } : { method: 'GET', accept: opts.format };
    if (typeof resource === 'string') {
      const path = pathOf(m.model.id, instanceId, resourceOf(m, resource).id);
      return this.#resourceContent(m, path, await this.#send('read', path, req, '2.05'));
    }
    const path = pathOf(m.model.id, instanceId);
    return this.#instanceContent(m, path, await this.#send('read', path, req, '2.05'));
  }

  // ---- Write ----

  /** Writes one resource: replace (PUT) by default, `mode: 'update'` (POST) adds to a multiple resource's instances. */
  write<I extends ObjectInstance, K extends ResourceMember<I>>(
    type: ObjectClass<I>, instanceId: number, resource: K, value: WritableValue<ResourceValueOf<I, K>>, options?: WriteOptions): Promise<void>;
  /** Writes several resources of an instance: replace (PUT) by default, `mode: 'update'` (POST) for a partial update. */
  write<I extends ObjectInstance>(type: ObjectClass<I>, instanceId: number, values: InstanceInput<I>, options?: WriteOptions): Promise<void>;
  async write(type: ObjectClass, instanceId: number, target: string | object, a?: unknown, b?: WriteOptions): Promise<void> {
    const m = membersOf(type);
    const single = typeof target === 'string';
    const options = (single ? b : a as WriteOptions | undefined) ?? {};
    let path: Lwm2mPath;
    let records: Lwm2mRecord[];
    let format: number;
    if (single) {
      const r = resourceOf(m, target);
      path = pathOf(m.model.id, instanceId, r.id);
      records = recordsOf(path, a);
      format = options.format ?? (r.multiple ? ContentFormat.TLV : singleValueFormat(r));
    } else {
      path = pathOf(m.model.id, instanceId);
      records = this.#instanceRecords(m, instanceId, target);
      format = options.format ?? ContentFormat.TLV;
    }
    const payload = encodeRecords(format, path, records, m.lookup);
    await this.#send('write', path, { method: options.mode === 'update' ? 'POST' : 'PUT', contentFormat: format, payload }, '2.04');
  }

  #instanceRecords(m: Members, instanceId: number, values: object): Lwm2mRecord[] {
    const records: Lwm2mRecord[] = [];
    for (const [member, v] of Object.entries(values)) {
      if (v === undefined) continue;
      records.push(...recordsOf(pathOf(m.model.id, instanceId, resourceOf(m, member).id), v));
    }
    return records.sort((x, y) => x.path.resourceId! - y.path.resourceId!);
  }

  // ---- Execute, Discover, Create, Delete, Write-Attributes ----

  /** Executes a resource, with arguments as text (`0='on',1`) or by number. */
  async execute<I extends ObjectInstance, K extends ExecuteMember<I>>(
    type: ObjectClass<I>, instanceId: number, resource: K, args?: ExecuteArgumentsInput): Promise<void> {
    const m = membersOf(type);
    const path = pathOf(m.model.id, instanceId, resourceOf(m, resource).id);
    const req: Omit<OutgoingRequest, 'path'> = args === undefined ? { method: 'POST' } : { method: 'POST', payload: utf8.encode(executePayload(args)) };
    await this.#send('execute', path, req, '2.04');
  }

  /** Discovers the object, an instance or a resource: its links with their attributes (`ver`, `dim`, `pmin`, …). */
  async discover<I extends ObjectInstance>(type: ObjectClass<I>, instanceId?: number, resource?: ResourceMember<I> | ExecuteMember<I>): Promise<Link[]> {
    const m = membersOf(type);
    const path = pathOf(m.model.id, instanceId, resource === undefined ? undefined : resourceOf(m, resource).id);
    const res = await this.#send('discover', path, { method: 'GET', accept: ContentFormat.LINK_FORMAT }, '2.05');
    return parseLinks(text.decode(res.payload));
  }

  /** Creates an instance with these values; resolves with its id (from the response's Location-Path). */
  async create<I extends ObjectInstance>(type: ObjectClass<I>, values: InstanceInput<I>, options: CreateOptions = {}): Promise<number> {
    const m = membersOf(type);
    const path = pathOf(m.model.id);
    const format = options.format ?? ContentFormat.TLV;
    // Without an id the values go as bare resources, so the device picks the instance id.
    const payload = options.instanceId === undefined
      ? encodeRecords(format, pathOf(m.model.id, 0), this.#instanceRecords(m, 0, values), m.lookup)
      : encodeRecords(format, path, this.#instanceRecords(m, options.instanceId, values), m.lookup);
    const res = await this.#send('create', path, { method: 'POST', contentFormat: format, payload }, '2.01');
    const id = Number(res.locationPath[res.locationPath.length - 1] ?? options.instanceId);
    if (!Number.isInteger(id)) throw new ResponseFormatError(formatPath(path), 'the Create response names no instance');
    return id;
  }

  /** Deletes an instance. */
  async delete<I extends ObjectInstance>(type: ObjectClass<I>, instanceId: number): Promise<void> {
    const path = pathOf(membersOf(type).model.id, instanceId);
    await this.#send('delete', path, { method: 'DELETE' }, '2.02');
  }

  /** Writes notification attributes of the object (`null` removes one). */
  writeAttributes<I extends ObjectInstance>(type: ObjectClass<I>, attributes: AttributesInput): Promise<void>;
  /** Writes notification attributes of an instance. */
  writeAttributes<I extends ObjectInstance>(type: ObjectClass<I>, instanceId: number, attributes: AttributesInput): Promise<void>;
  /** Writes notification attributes of a resource. */
  writeAttributes<I extends ObjectInstance>(
    type: ObjectClass<I>, instanceId: number, resource: ResourceMember<I>, attributes: AttributesInput): Promise<void>;
  async writeAttributes(type: ObjectClass, ...rest: Array<number | string | AttributesInput>): Promise<void> {
    const m = membersOf(type);
    const attributes = rest[rest.length - 1] as AttributesInput;
    const instanceId = typeof rest[0] === 'number' ? rest[0] : undefined;
    const resource = typeof rest[1] === 'string' ? resourceOf(m, rest[1]).id : undefined;
    const path = pathOf(m.model.id, instanceId, resource);
    await this.#send('write-attributes', path, { method: 'PUT', query: attributesQuery(attributes) }, '2.04');
  }

  // ---- Send ----

  /** The device's next Send (POST /dp) not handed out before: already received, or the next to come. */
  nextSend(options?: WaitOptions): Promise<SendReport> {
    return this.server.nextSend(this.endpoint, options);
  }

  /** Every Send the server accepted from the device, in order. */
  get sends(): SendReport[] {
    return this.server.sends(this.endpoint);
  }

  // ---- Observe ----

  /** Observes one resource: the first value now, then its notifications. */
  observe<I extends ObjectInstance, K extends ResourceMember<I>>(
    type: ObjectClass<I>, instanceId: number, resource: K, options?: FormatOptions): Promise<TypedObservation<ResourceValueOf<I, K>>>;
  /** Observes an instance: its values now, then at each notification. */
  observe<I extends ObjectInstance>(type: ObjectClass<I>, instanceId: number, options?: FormatOptions): Promise<TypedObservation<InstanceValues<I>>>;
  async observe(type: ObjectClass, instanceId: number, resource?: string | FormatOptions, options?: FormatOptions): Promise<TypedObservation<unknown>> {
    const m = membersOf(type);
    const opts = typeof resource === 'object' ? resource : options;
    const path = typeof resource === 'string'
      ? pathOf(m.model.id, instanceId, resourceOf(m, resource).id) : pathOf(m.model.id, instanceId);
    const p = formatPath(path);
    const raw = await this.server.observe(this.endpoint, p, opts?.format);
    if (raw.response.code !== '2.05' || raw.response.observe === undefined) {
      raw.reset();
      throw new RequestError('observe', p, raw.response.code, text.decode(raw.response.payload) || undefined);
    }
    const decode = (res: ObservedPayload): unknown => (typeof resource === 'string'
      ? this.#resourceContent(m, path, res) : this.#instanceContent(m, path, res));
    const cancel = async (): Promise<void> => {
      const code = await raw.cancel();
      if (code !== '2.05') throw new RequestError('cancel observe', p, code);
    };
    return new TypedObservation(p, raw, decode(raw.response), decode, cancel);
  }
}
