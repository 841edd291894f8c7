// A device-management operation asked for by the page: checked against the models and turned into one CoAP request, or refused.
import {
  ContentFormat, encodeRecords, formatPath, isExecutable, isSupportedFormat, isWritable,
  parseExecuteArguments, parsePath, parseWriteAttributes,
  type Lwm2mPath, type Lwm2mRecord, type OutgoingRequest, type ResourceLookup, type ResourceModel,
} from 'lwm2m-gen/runtime';
import type { ModelSet } from './models.js';
import { BadInputError, valueFromText } from './values.js';

export const OPERATIONS = [
  'read', 'write', 'execute', 'discover', 'create', 'delete', 'write-attributes', 'observe', 'cancel-observe',
] as const;
export type OperationName = (typeof OPERATIONS)[number];

/** What the page may send, as JSON (anything else is refused). */
export interface OperationInput {
  readonly op: OperationName;
  readonly path: string;
  /** Accept of read/observe, Content-Format of write/create; absent: the device chooses, or text/TLV. */
  readonly format?: number;
  /** One resource's value, as typed (write of a resource). */
  readonly value?: string;
  /** Values by resource id, as typed (write of an instance: a partial update; create). */
  readonly values?: Readonly<Record<string, string>>;
  /** Execute arguments, `0='on',1`. */
  readonly args?: string;
  /** Write-Attributes, `pmin=1&pmax=10` (an attribute without `=` is removed). */
  readonly attributes?: string;
}

/** An operation checked and ready to send. */
export interface PlannedRequest {
  readonly op: OperationName;
  readonly path: Lwm2mPath;
  readonly request: Omit<OutgoingRequest, 'path'>;
  /** The success code the operation expects (2.05 read, 2.04 write, …). */
  readonly expect: string;
}

const FIELDS = new Set(['op', 'path', 'format', 'value', 'values', 'args', 'attributes']);
const utf8 = new TextEncoder();

function isRecordOfStrings(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Checks the shape of the page's JSON; BadInputError naming the field otherwise. */
export function parseOperationInput(body: unknown): OperationInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadInputError('the request body must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new BadInputError(`unknown field "${k}"`);
  if (typeof o.op !== 'string' || !(OPERATIONS as readonly string[]).includes(o.op)) {
    throw new BadInputError(`"op" must be one of ${OPERATIONS.join(', ')}`);
  }
  if (typeof o.path !== 'string') throw new BadInputError('"path" must be an LwM2M path like /3/0/1');
  if (o.format !== undefined && (typeof o.format !== 'number' || !isSupportedFormat(o.format))) {
    throw new BadInputError(`"format" ${JSON.stringify(o.format)} is not a content format this server encodes`);
  }
  for (const k of ['value', 'args', 'attributes'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new BadInputError(`"${k}" must be a string`);
  }
  if (o.values !== undefined && !isRecordOfStrings(o.values)) throw new BadInputError('"values" must map resource ids to strings');
  return o as unknown as OperationInput;
}

function level(p: Lwm2mPath): 'object' | 'instance' | 'resource' | 'resource instance' {
  if (p.instanceId === undefined) return 'object';
  if (p.resourceId === undefined) return 'instance';
  return p.resourceInstanceId === undefined ? 'resource' : 'resource instance';
}

function need(p: Lwm2mPath, op: string, ...levels: Array<ReturnType<typeof level>>): void {
  if (!levels.includes(level(p))) throw new BadInputError(`${op} addresses ${levels.join(' or ')} paths, not ${formatPath(p)}`);
}

/** The lookup the codecs use: the models' resources. */
export function lookupOf(models: ModelSet): ResourceLookup {
  return (objectId, resourceId) => models.get(objectId)?.resource(resourceId);
}

function resourceAt(models: ModelSet, p: Lwm2mPath): ResourceModel | undefined {
  return p.resourceId === undefined ? undefined : models.get(p.objectId)?.resource(p.resourceId);
}

function writableResource(models: ModelSet, p: Lwm2mPath, idText: string): ResourceModel {
  if (!/^\d{1,5}$/.test(idText)) throw new BadInputError(`"${idText}" is not a resource id`);
  const r = models.get(p.objectId)?.resource(Number(idText));
  if (!r) throw new BadInputError(`the models have no resource ${idText} in object ${p.objectId}: values of unknown resources cannot be encoded`);
  return r;
}

function instanceRecords(models: ModelSet, base: Lwm2mPath, values: Readonly<Record<string, string>>, forCreate: boolean): Lwm2mRecord[] {
  const records: Lwm2mRecord[] = [];
  for (const [id, text] of Object.entries(values)) {
    const r = writableResource(models, base, id);
    // Create may set any resource but executables; Write only writable ones.
    if (forCreate ? isExecutable(r) : !isWritable(r)) throw new BadInputError(`${r.name} (/${base.objectId}/x/${r.id}) is not ${forCreate ? 'a value resource' : 'writable'}`);
    const path = { ...base, resourceId: r.id };
    records.push({ path, value: valueFromText(r, text, path) });
  }
  if (records.length === 0) throw new BadInputError('no values to send');
  return records.sort((a, b) => a.path.resourceId! - b.path.resourceId!);
}

function planWrite(models: ModelSet, p: Lwm2mPath, input: OperationInput): PlannedRequest {
  need(p, 'Write', 'instance', 'resource', 'resource instance');
  const lookup = lookupOf(models);
  if (level(p) === 'instance') {
    if (!input.values) throw new BadInputError('a Write of an instance needs "values" (resource id to value)');
    const format = input.format ?? ContentFormat.TLV;
    const payload = encodeRecords(format, p, instanceRecords(models, p, input.values, false), lookup);
    return { op: 'write', path: p, expect: '2.04', request: { method: 'POST', contentFormat: format, payload } };
  }
  if (input.value === undefined) throw new BadInputError('a Write of a resource needs "value"');
  const r = resourceAt(models, p);
  if (!r) {
    // An object the models lack is still usable: its value goes as the text typed.
    if (input.format !== undefined && input.format !== ContentFormat.TEXT) throw new BadInputError(`the models lack ${formatPath(p)}: it can be written as text (format 0) only`);
    return { op: 'write', path: p, expect: '2.04', request: { method: 'PUT', contentFormat: ContentFormat.TEXT, payload: utf8.encode(input.value) } };
  }
  if (!isWritable(r)) throw new BadInputError(`${r.name} (${formatPath(p)}) is not writable (operations ${r.operations || 'none'})`);
  if (r.multiple && p.resourceInstanceId === undefined) {
    throw new BadInputError(`${r.name} is a multiple resource: write one of its instances (${formatPath(p)}/0)`);
  }
  const value = valueFromText(r, input.value, p);
  const format = input.format ?? (r.multiple ? ContentFormat.TLV : r.type === 'Opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT);
  const payload = encodeRecords(format, p, [{ path: p, value }], lookup);
  return { op: 'write', path: p, expect: '2.04', request: { method: 'PUT', contentFormat: format, payload } };
}

function attributesQuery(models: ModelSet, p: Lwm2mPath, text: string): string[] {
  const query = text.split(/[&\s]+/).filter((s) => s !== '');
  try {
    parseWriteAttributes(query, p, resourceAt(models, p));
  } catch (e) {
    throw new BadInputError(e instanceof Error ? e.message : String(e));
  }
  return query;
}

/** Checks the operation against the path and the models and makes its request; BadInputError when it must not be sent. */
export function planOperation(models: ModelSet, input: OperationInput): PlannedRequest {
  const p = parsePath(input.path);
  if (!p) throw new BadInputError(`"${input.path}" is not an LwM2M path (/OBJECT[/INSTANCE[/RESOURCE[/RESOURCE-INSTANCE]]], ids 0..65535)`);
  const accept = input.format === undefined ? {} : { accept: input.format };
  switch (input.op) {
    case 'read':
      return { op: 'read', path: p, expect: '2.05', request: { method: 'GET', ...accept } };
    case 'observe':
      return { op: 'observe', path: p, expect: '2.05', request: { method: 'GET', observe: 0, ...accept } };
    case 'cancel-observe':
      return { op: 'cancel-observe', path: p, expect: '2.05', request: { method: 'GET', observe: 1, ...accept } };
    case 'discover':
      return { op: 'discover', path: p, expect: '2.05', request: { method: 'GET', accept: ContentFormat.LINK_FORMAT } };
    case 'write':
      return planWrite(models, p, input);
    case 'execute': {
      need(p, 'Execute', 'resource');
      const r = resourceAt(models, p);
      if (r && !isExecutable(r)) throw new BadInputError(`${r.name} (${formatPath(p)}) is not executable`);
      const args = input.args ?? '';
      try {
        parseExecuteArguments(args, p, () => {});
      } catch (e) {
        throw new BadInputError(e instanceof Error ? e.message : String(e));
      }
      return { op: 'execute', path: p, expect: '2.04', request: args === '' ? { method: 'POST' } : { method: 'POST', payload: utf8.encode(args) } };
    }
    case 'create': {
      need(p, 'Create', 'object');
      const format = input.format ?? ContentFormat.TLV;
      // Values as bare resources (no instance id): the device picks the new instance's id.
      const base = { objectId: p.objectId, instanceId: 0 };
      const payload = encodeRecords(format, base, instanceRecords(models, base, input.values ?? {}, true), lookupOf(models));
      return { op: 'create', path: p, expect: '2.01', request: { method: 'POST', contentFormat: format, payload } };
    }
    case 'delete':
      need(p, 'Delete', 'instance');
      return { op: 'delete', path: p, expect: '2.02', request: { method: 'DELETE' } };
    case 'write-attributes':
      if (!input.attributes) throw new BadInputError('Write-Attributes needs "attributes", e.g. pmin=1&pmax=10');
      return { op: 'write-attributes', path: p, expect: '2.04', request: { method: 'PUT', query: attributesQuery(models, p, input.attributes) } };
  }
}
