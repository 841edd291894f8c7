// The LwM2M 1.1 Send operation (POST /dp): values of several paths, read now or captured earlier, as timestamped SenML to one server.
import type { CoapEndpoint, Peer } from '../coap/types.js';
import { ContentFormat, encodeSendRecords, SEND_FORMATS, type Lwm2mRecord } from '../codec/index.js';
import { Lwm2mError } from '../errors.js';
import { formatPath, parsePath, type Lwm2mPath, type ResourceContent, type ResourceValue } from '../model.js';
import { checkContent } from '../values/check.js';
import { pathRecords } from './composite.js';
import type { RegistrationState } from './registration.js';
import type { ObjectRegistry } from './registry.js';

const SECURITY_OBJECT = 0;

/** The Content-Formats of a Send: SenML CBOR (112, the default) and SenML JSON (110). */
export type SendFormat = typeof ContentFormat.SENML_JSON | typeof ContentFormat.SENML_CBOR;

/** One item of a Send: a path whose value is read when send() runs, or a value captured earlier with its time. */
export interface SendItem {
  /** "/3/0/9", or a path object: an object, instance, resource or resource instance. */
  readonly path: string | Lwm2mPath;
  /**
   * The value to send instead of reading the path now (a resource or resource instance; a Map of instances for a
   * multiple resource), checked against the resource's model.
   */
  readonly value?: ResourceContent;
  /** When the value was captured: a Date or ms since the epoch; default when send() reads it. */
  readonly time?: Date | number;
}

/** What send() takes per item: a path alone (read now) or a {@link SendItem}. */
export type SendTarget = string | Lwm2mPath | SendItem;

export interface SendOptions {
  /** SenML CBOR (112, default) or SenML JSON (110). */
  readonly format?: SendFormat;
  /** The Send's base time (SenML bt): a Date or ms since the epoch; default now. */
  readonly time?: Date | number;
}

/** One value as a Send carries it, with the time it was captured (ms since the epoch). */
export interface CapturedValue {
  readonly path: Lwm2mPath;
  readonly value: ResourceValue;
  readonly time: number;
}

/**
 * A Send whose values are read and checked but which was not delivered: what an offline sink keeps. Sending
 * `captured.values` later (`client.send(captured.values, { format: captured.format })`) keeps the original times.
 */
export interface CapturedSend {
  readonly values: readonly CapturedValue[];
  readonly format: SendFormat;
  /** When send() was called, ms since the epoch. */
  readonly capturedAt: number;
  /** The Short Server ID of the server it was for (a device with several servers has one client, and sink, per server). */
  readonly shortServerId: number | undefined;
  /**
   * The body as it would have gone (`format`, bt the time of the send() call, t per value captured earlier): a sink
   * that keeps bytes can POST it to /dp later as it is.
   */
  readonly payload: Uint8Array;
}

/**
 * THE OFFLINE SEAM: what the client does with a Send while it is not registered (registering, waiting for a retry,
 * disabled, stopped). Absent: send() rejects with SendNotRegisteredError. A sink that resolves keeps the Send (send()
 * then resolves with status 'kept'); one that throws refuses it, and send() rejects with that error.
 */
export type OfflineSendSink = (send: CapturedSend, state: RegistrationState) => void | Promise<void>;

/** What a Send did. */
export interface SendResult {
  /** 'delivered': the server answered with a success code; 'kept': the offline sink took it. */
  readonly status: 'delivered' | 'kept';
  /** The server's answer (2.04 Changed) when delivered. */
  readonly code: string | undefined;
  readonly format: SendFormat;
  /** The records that went out (or were kept), each with its time in seconds since the epoch. */
  readonly records: readonly Lwm2mRecord[];
  /** The Send's base time (bt), ms since the epoch. */
  readonly baseTime: number;
}

/** A Send that did not happen: refused locally, or by the server. `path` names the path it concerns, when one. */
export class SendError extends Error {
  readonly path: string | undefined;
  constructor(message: string, path?: string) {
    super(path === undefined ? message : `${path}: ${message}`);
    this.name = 'SendError';
    this.path = path;
  }
}

/** A path the device lacks, cannot read, or may not send (/0): refused before anything goes out. */
export class SendPathError extends SendError {
  /** The code a server's Read of the path would get (4.04 absent, 4.05 not readable, 4.01 Security, 4.00 not a path or a bad value). */
  readonly code: string;
  constructor(path: string, code: string, message: string) {
    super(message, path);
    this.name = 'SendPathError';
    this.code = code;
  }
}

/** Mute Send (/1/x/23) is true for this server, or absent (LwM2M 1.1 reads an absent Mute Send as muted): nothing went out. */
export class SendMutedError extends SendError {
  readonly shortServerId: number | undefined;
  constructor(shortServerId: number | undefined, absent: boolean) {
    super(absent
      ? `Mute Send (/1/x/23) is absent for server ${shortServerId ?? '?'}, which LwM2M 1.1 reads as muted; set it to false to send`
      : `Send is muted for server ${shortServerId ?? '?'} (Mute Send /1/x/23 is true)`);
    this.name = 'SendMutedError';
    this.shortServerId = shortServerId;
  }
}

/** The client is not registered (and no offline sink kept the Send): nothing went out. */
export class SendNotRegisteredError extends SendError {
  readonly state: RegistrationState;
  constructor(state: RegistrationState) {
    super(`the client is not registered (${state}): a Send needs a registration`);
    this.name = 'SendNotRegisteredError';
    this.state = state;
  }
}

/** The server answered the Send with an error code (4.00, 4.04, 4.05, 5.00, …), or did not answer. */
export class SendRejectedError extends SendError {
  /** The server's response code; undefined when the request got no answer. */
  readonly code: string | undefined;
  constructor(code: string | undefined, detail: string | undefined) {
    super(code === undefined ? `the Send got no answer${detail ? ` (${detail})` : ''}` : `the server answered the Send with ${code}${detail ? `: ${detail}` : ''}`);
    this.name = 'SendRejectedError';
    this.code = code;
  }
}

export interface SenderOptions {
  readonly registry: ObjectRegistry;
  readonly transport: CoapEndpoint;
  readonly server: Peer;
  readonly state: () => RegistrationState;
  /** Mute Send of this server's /1 instance: its value, or undefined when the resource is absent. */
  readonly muteSend: () => boolean | undefined;
  readonly shortServerId: () => number | undefined;
  /** Wall-clock ms since the epoch, for timestamps. */
  readonly now: () => number;
  /** The `lwm2m=` version the client registers with: Send needs 1.1 or later. */
  readonly lwm2mVersion: string;
  readonly offline?: OfflineSendSink;
}

const diagnostic = new TextDecoder();

function millis(t: Date | number, what: string): number {
  const ms = t instanceof Date ? t.getTime() : t;
  if (!Number.isFinite(ms)) throw new SendError(`${what} is not a valid time`);
  return ms;
}

function itemOf(target: SendTarget): SendItem {
  return typeof target === 'string' || !('path' in target) ? { path: target } : target;
}

/** Sends for one client: checks and reads the paths, honours Mute Send, POSTs /dp or hands the Send to the offline sink. */
export class Sender {
  readonly #o: SenderOptions;

  constructor(options: SenderOptions) {
    this.#o = options;
  }

  async send(targets: readonly SendTarget[], options: SendOptions = {}): Promise<SendResult> {
    const format = options.format ?? ContentFormat.SENML_CBOR;
    if (!SEND_FORMATS.has(format)) throw new SendError(`Content-Format ${String(format)} cannot carry a Send; use SenML CBOR (112) or SenML JSON (110)`);
    if (targets.length === 0) throw new SendError('a Send needs at least one path');
    if (/^1\.0(\D|$)/.test(this.#o.lwm2mVersion)) {
      throw new SendError(`the client registers as LwM2M ${this.#o.lwm2mVersion}, which has no Send (LwM2M 1.1 added it)`);
    }
    const now = this.#o.now();
    const baseTime = options.time === undefined ? now : millis(options.time, 'the base time');
    const values = captureValues(this.#o.registry, targets, now);
    const muted = this.#o.muteSend();
    if (muted !== false) throw new SendMutedError(this.#o.shortServerId(), muted === undefined);
    const records: Lwm2mRecord[] = values.map((v) => ({ path: v.path, value: v.value, time: v.time / 1000 }));
    let payload: Uint8Array;
    try {
      payload = encodeSendRecords(format, records, this.#o.registry.lookup, baseTime / 1000);
    } catch (err) {
      const path = err instanceof Lwm2mError && err.path ? formatPath(err.path) : '/';
      throw new SendPathError(path, '4.00', err instanceof Error ? err.message : String(err));
    }
    const state = this.#o.state();
    if (state !== 'registered') {
      if (!this.#o.offline) throw new SendNotRegisteredError(state);
      await this.#o.offline({ values, format, capturedAt: now, shortServerId: this.#o.shortServerId(), payload }, state);
      return { status: 'kept', code: undefined, format, records, baseTime };
    }
    let code: string;
    let detail: string | undefined;
    try {
      const res = await this.#o.transport.request(this.#o.server, { method: 'POST', path: ['dp'], contentFormat: format, payload });
      code = res.code;
      detail = res.payload.length > 0 && res.payload.length <= 200 ? diagnostic.decode(res.payload) : undefined;
    } catch (err) {
      throw new SendRejectedError(undefined, err instanceof Error ? err.message : String(err));
    }
    // 2.04 Changed is the spec's answer; another success code (a plain CoAP server's 2.01) still means it was taken.
    if (!code.startsWith('2.')) throw new SendRejectedError(code, detail);
    return { status: 'delivered', code, format, records, baseTime };
  }
}

/**
 * The values of a Send's targets, in order, each once (a path under another one listed adds nothing new): read from
 * the registry now, or as given, each with its time (ms; `now` for values read now). Every path is checked, nothing
 * is sent: the first refused one throws SendPathError naming it. An app can check paths at start this way.
 */
export function captureValues(registry: ObjectRegistry, targets: readonly SendTarget[], now: number = Date.now()): CapturedValue[] {
  const out: CapturedValue[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    const item = itemOf(target);
    const text = typeof item.path === 'string' ? item.path : formatPath(item.path);
    const path = typeof item.path === 'string' ? parsePath(item.path) : item.path;
    if (!path) throw new SendPathError(text, '4.00', 'not an LwM2M path (e.g. /3/0/9)');
    if (path.objectId === SECURITY_OBJECT) throw new SendPathError(text, '4.01', 'the Security object holds keys and is never sent');
    const time = item.time === undefined ? now : millis(item.time, `the time of ${text}`);
    for (const r of item.value === undefined ? readPath(registry, path, text) : givenValue(registry, path, text, item.value)) {
      const key = formatPath(r.path);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ path: r.path, value: r.value, time });
    }
  }
  return out;
}

/** A Read's refusal as the Send's: the same code, the path named once. */
function refusal(err: unknown, text: string): unknown {
  return err instanceof Lwm2mError ? new SendPathError(text, err.code, err.message.replace(/^\/[\d/]+: /, '')) : err;
}

function readPath(registry: ObjectRegistry, path: Lwm2mPath, text: string): Lwm2mRecord[] {
  try {
    return pathRecords(registry, path);
  } catch (err) {
    throw refusal(err, text);
  }
}

/** A value captured earlier: the object and resource must be known; the instance may have gone since. */
function givenValue(registry: ObjectRegistry, path: Lwm2mPath, text: string, value: ResourceContent): Lwm2mRecord[] {
  if (path.resourceId === undefined || path.instanceId === undefined) {
    throw new SendPathError(text, '4.00', 'a value is given for a resource or a resource instance, not a whole object or instance');
  }
  const model = registry.object(path.objectId) ? registry.lookup(path.objectId, path.resourceId) : undefined;
  if (!model) throw new SendPathError(text, '4.04', registry.object(path.objectId) ? 'no such resource in this object' : 'no such object');
  try {
    if (path.resourceInstanceId !== undefined) {
      if (!model.multiple) throw new SendPathError(text, '4.04', 'not a multiple resource');
      return [{ path, value: checkContent({ ...model, multiple: false }, value, path) as ResourceValue }];
    }
    const content = checkContent(model, value, path);
    if (!(content instanceof Map)) return [{ path, value: content as ResourceValue }];
    return [...content.entries()].sort((a, b) => a[0] - b[0]).map(([riid, v]) => ({ path: { ...path, resourceInstanceId: riid }, value: v }));
  } catch (err) {
    throw refusal(err, text);
  }
}
