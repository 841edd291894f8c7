// The server the UI drives: lwm2m-gen/testing's LwM2M servers (UDP, DTLS), the operations, observations and log, as events.
import {
  ContentFormat, decodeRecords, formatPath, parseLinks, type IncomingResponse, type Lwm2mPath,
} from 'lwm2m-gen/runtime';
import type { Observation, Registration, TestLwm2mServer } from 'lwm2m-gen/testing';
import { objectView, type ModelSet, type ObjectView } from './models.js';
import { lookupOf, planOperation, type OperationInput, type PlannedRequest } from './operations.js';
import { rawValues } from './raw-values.js';
import { BadInputError, recordViews, type ValueView } from './values.js';

/** One LwM2M server socket of the hub and the scheme devices reach it by. */
export interface HubServer {
  readonly server: TestLwm2mServer;
  readonly transport: 'udp' | 'dtls';
}

/** One line of the request/response log. */
export interface LogEntry {
  readonly id: number;
  readonly time: number;
  readonly endpoint: string;
  readonly kind: 'request' | 'registration' | 'notification';
  readonly op: string;
  readonly path: string;
  readonly code: string;
  readonly ms?: number;
  readonly detail?: string;
}

/** A registered client as the page lists it. */
export interface ClientView {
  readonly endpoint: string;
  readonly transport: 'udp' | 'dtls';
  readonly address: string;
  readonly lwm2mVersion: string;
  readonly lifetime: number;
  readonly binding: string;
  readonly registeredAt: number;
  readonly lastUpdateAt: number;
  readonly updates: number;
  /** Object and instance ids from the registration's object links. */
  readonly objects: ReadonlyArray<{ readonly objectId: number; readonly instances: readonly number[]; readonly version?: string }>;
}

/** What the page gets back for an operation. */
export interface OperationResult {
  readonly code: string;
  readonly ms: number;
  readonly values?: readonly ValueView[];
  readonly links?: ReadonlyArray<{ readonly target: string; readonly attributes: string }>;
  /** The payload as text when it is not values or links (a diagnostic, an undecodable answer). */
  readonly text?: string;
  readonly location?: string;
}

/** What the hub tells its listeners (the page's event stream). */
export type HubEvent =
  | { readonly type: 'clients'; readonly clients: readonly ClientView[] }
  | { readonly type: 'log'; readonly entry: LogEntry }
  | { readonly type: 'notification'; readonly endpoint: string; readonly path: string; readonly time: number; readonly result: OperationResult }
  | { readonly type: 'observation'; readonly endpoint: string; readonly path: string; readonly active: boolean }
  | { readonly type: 'firmware'; readonly endpoint: string; readonly status: Readonly<Record<string, unknown>> };

/** The endpoint is not registered (HTTP 404). */
export class UnknownClientError extends Error {
  constructor(endpoint: string) {
    super(`no client is registered as ${JSON.stringify(endpoint)}`);
    this.name = 'UnknownClientError';
  }
}

const LOG_SIZE = 2000;
const text = new TextDecoder('utf-8', { fatal: true });

function payloadText(payload: Uint8Array): string {
  try {
    return text.decode(payload);
  } catch {
    return `(${payload.length} bytes) ${Buffer.from(payload).toString('hex')}`;
  }
}

function objectsOf(links: string): ClientView['objects'] {
  const byObject = new Map<number, { instances: number[]; version?: string }>();
  let parsed: ReturnType<typeof parseLinks> = [];
  try {
    parsed = parseLinks(links);
  } catch {
    return [];
  }
  for (const l of parsed) {
    const m = /^(?:\/[^/]+)*?\/(\d+)(?:\/(\d+))?$/.exec(l.target.replace(/^<|>$/g, ''));
    if (!m) continue;
    const objectId = Number(m[1]);
    const entry = byObject.get(objectId) ?? { instances: [] };
    if (m[2] !== undefined) entry.instances.push(Number(m[2]));
    const ver = l.attributes.find(([k]) => k === 'ver')?.[1];
    if (ver !== undefined) entry.version = String(ver);
    byObject.set(objectId, entry);
  }
  return [...byObject].sort(([a], [b]) => a - b).map(([objectId, e]) => ({ objectId, ...e }));
}

/**
 * The LwM2M side of `lwm2m-gen server`: the registrations of its servers, every operation the page asks for (checked
 * by the models first), observations and their notifications, registrations expiring after their lifetime, and a
 * log of it all. Listeners get each change as a {@link HubEvent}.
 */
export class ServerHub {
  readonly models: ModelSet;
  readonly servers: readonly HubServer[];
  readonly log: LogEntry[] = [];
  readonly #listeners = new Set<(e: HubEvent) => void>();
  readonly #observations = new Map<string, Observation>();
  readonly #unsubscribe: Array<() => void> = [];
  /** Registration ids being dropped for their lifetime, so the log says so. */
  readonly #expiring = new Set<string>();
  readonly #expiry: ReturnType<typeof setInterval>;
  #nextLogId = 1;

  constructor(servers: readonly HubServer[], models: ModelSet) {
    this.servers = servers;
    this.models = models;
    for (const { server } of servers) {
      this.#unsubscribe.push(server.onRegistrationChange(({ kind, registration }) => {
        const expired = this.#expiring.delete(registration.id);
        const op = kind === 'registered' ? 'Register' : kind === 'updated' ? 'Update' : expired ? 'lifetime expired' : 'De-register';
        const code = kind === 'registered' ? '2.01' : kind === 'updated' ? '2.04' : expired ? '-' : '2.02';
        this.#log({ endpoint: registration.endpoint, kind: 'registration', op, path: `/rd/${registration.id}`, code });
        if (kind === 'deregistered') this.#dropObservations(registration.endpoint);
        this.#emitClients();
      }));
    }
    // A client that neither updates nor de-registers is gone once its lifetime has passed (LwM2M 1.1 §6.2.1).
    this.#expiry = setInterval(() => this.#expire(), 1000);
    this.#expiry.unref();
  }

  /** Calls `listener` for every event; returns the function that stops it. */
  subscribe(listener: (e: HubEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: HubEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }

  #emitClients(): void {
    this.#emit({ type: 'clients', clients: this.clients() });
  }

  #log(entry: Omit<LogEntry, 'id' | 'time'>): void {
    const full: LogEntry = { id: this.#nextLogId++, time: Date.now(), ...entry };
    this.log.push(full);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    this.#emit({ type: 'log', entry: full });
  }

  #expire(): void {
    const now = Date.now();
    for (const { server } of this.servers) {
      for (const r of [...server.registrations.values()]) {
        if (now <= r.lastUpdateAt + r.lifetime * 1000) continue;
        this.#expiring.add(r.id);
        server.forget(r.endpoint);
      }
    }
  }

  #find(endpoint: string): { hub: HubServer; registration: Registration } {
    for (const hub of this.servers) {
      const registration = hub.server.findRegistration(endpoint);
      if (registration) return { hub, registration };
    }
    throw new UnknownClientError(endpoint);
  }

  /** Throws UnknownClientError unless the endpoint is registered. */
  requireClient(endpoint: string): void {
    this.#find(endpoint);
  }

  /** The registered clients, newest first. */
  clients(): ClientView[] {
    const out: ClientView[] = [];
    for (const { server, transport } of this.servers) {
      for (const r of server.registrations.values()) {
        out.push({
          endpoint: r.endpoint, transport, address: `${r.peer.address}:${r.peer.port}`, lwm2mVersion: r.lwm2mVersion ?? '1.0',
          lifetime: r.lifetime, binding: r.binding, registeredAt: r.registeredAt, lastUpdateAt: r.lastUpdateAt, updates: r.updates,
          objects: objectsOf(r.links),
        });
      }
    }
    return out.sort((a, b) => b.registeredAt - a.registeredAt);
  }

  /** The models of the client's objects (those the models lack are left out: the page shows them by id). */
  objectModels(endpoint: string): ObjectView[] {
    const { registration } = this.#find(endpoint);
    return objectsOf(registration.links).flatMap((o) => {
      const m = this.models.get(o.objectId);
      return m ? [objectView(m)] : [];
    });
  }

  /** Paths observed on a client now. */
  observed(endpoint: string): string[] {
    return [...this.#observations.keys()].filter((k) => k.startsWith(`${endpoint}\n`)).map((k) => k.slice(endpoint.length + 1));
  }

  #result(path: Lwm2mPath, res: IncomingResponse, ms: number): OperationResult {
    const base = { code: res.code, ms, ...(res.locationPath.length ? { location: `/${res.locationPath.join('/')}` } : {}) };
    if (res.payload.length === 0) return base;
    if (!res.code.startsWith('2.')) return { ...base, text: payloadText(res.payload) };
    if (res.contentFormat === ContentFormat.LINK_FORMAT) {
      try {
        const links = parseLinks(payloadText(res.payload)).map((l) => ({
          target: l.target,
          attributes: l.attributes.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(';'),
        }));
        return { ...base, links };
      } catch {
        return { ...base, text: payloadText(res.payload) };
      }
    }
    try {
      if (res.contentFormat === undefined) throw new Error('no Content-Format');
      return { ...base, values: recordViews(decodeRecords(res.contentFormat, path, res.payload, lookupOf(this.models))) };
    } catch (e) {
      // An object the models lack: the self-describing formats still show its values, untyped.
      const raw = this.models.has(path.objectId) ? undefined : rawValues(res.contentFormat, path, res.payload);
      if (raw) return { ...base, values: raw };
      return { ...base, text: `${payloadText(res.payload)} (not decoded: ${e instanceof Error ? e.message : String(e)})` };
    }
  }

  /**
   * Checks the page's operation against the models and sends it: BadInputError (nothing sent) when it is malformed,
   * UnknownClientError when the endpoint is not registered. The device's answer, error codes included, resolves.
   */
  async perform(endpoint: string, input: OperationInput): Promise<OperationResult> {
    const { hub } = this.#find(endpoint);
    const plan = planOperation(this.models, input);
    if (plan.op === 'observe') return this.#observe(hub.server, endpoint, plan, input.format);
    if (plan.op === 'cancel-observe') this.#stopObservation(endpoint, formatPath(plan.path));
    return this.send(endpoint, plan);
  }

  /** Sends a planned request to the client and logs it; a timeout or a lost client resolves as code "timeout"/"error". */
  async send(endpoint: string, plan: PlannedRequest): Promise<OperationResult> {
    const { hub } = this.#find(endpoint);
    const path = formatPath(plan.path);
    const started = performance.now();
    try {
      const res = await hub.server.request(endpoint, path, plan.request);
      const ms = Math.round(performance.now() - started);
      const result = this.#result(plan.path, res, ms);
      this.#log({ endpoint, kind: 'request', op: plan.op, path, code: res.code, ms, ...(result.text && !res.code.startsWith('2.') ? { detail: result.text } : {}) });
      return result;
    } catch (e) {
      const ms = Math.round(performance.now() - started);
      const message = e instanceof Error ? e.message : String(e);
      const code = /time/i.test(message) ? 'timeout' : 'error';
      this.#log({ endpoint, kind: 'request', op: plan.op, path, code, ms, detail: message });
      return { code, ms, text: message };
    }
  }

  async #observe(server: TestLwm2mServer, endpoint: string, plan: PlannedRequest, accept: number | undefined): Promise<OperationResult> {
    const path = formatPath(plan.path);
    const key = `${endpoint}\n${path}`;
    if (this.#observations.has(key)) throw new BadInputError(`${path} is already observed; cancel it first`);
    const started = performance.now();
    let obs: Observation;
    try {
      obs = await server.observe(endpoint, path, accept);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.#log({ endpoint, kind: 'request', op: 'observe', path, code: 'error', ms: Math.round(performance.now() - started), detail: message });
      return { code: 'error', ms: Math.round(performance.now() - started), text: message };
    }
    const ms = Math.round(performance.now() - started);
    const first = this.#result(plan.path, obs.response, ms);
    this.#log({ endpoint, kind: 'request', op: 'observe', path, code: obs.response.code, ms });
    if (obs.response.code !== '2.05' || obs.response.observe === undefined) {
      obs.reset();
      return first;
    }
    this.#observations.set(key, obs);
    this.#emit({ type: 'observation', endpoint, path, active: true });
    this.#emit({ type: 'notification', endpoint, path, time: Date.now(), result: first });
    void this.#follow(endpoint, plan.path, key, obs);
    return first;
  }

  async #follow(endpoint: string, p: Lwm2mPath, key: string, obs: Observation): Promise<void> {
    const path = formatPath(p);
    while (this.#observations.get(key) === obs) {
      const n = await obs.next();
      if (this.#observations.get(key) !== obs) return;
      const result = this.#result(p, { ...obs.response, code: n.code as IncomingResponse['code'], payload: n.payload, ...(n.contentFormat === undefined ? {} : { contentFormat: n.contentFormat }) }, 0);
      this.#log({ endpoint, kind: 'notification', op: `notify ${n.observe ?? ''}`.trim(), path, code: n.code });
      this.#emit({ type: 'notification', endpoint, path, time: Date.now(), result });
      if (!n.code.startsWith('2.')) this.#stopObservation(endpoint, path);
    }
  }

  #stopObservation(endpoint: string, path: string): void {
    const key = `${endpoint}\n${path}`;
    const obs = this.#observations.get(key);
    if (!obs) return;
    obs.reset();
    this.#observations.delete(key);
    this.#emit({ type: 'observation', endpoint, path, active: false });
  }

  #dropObservations(endpoint: string): void {
    for (const path of this.observed(endpoint)) this.#stopObservation(endpoint, path);
  }

  /** Tells listeners about a firmware job's progress (firmware.ts). */
  firmwareStatus(endpoint: string, status: Readonly<Record<string, unknown>>): void {
    this.#emit({ type: 'firmware', endpoint, status });
  }

  /** Stops expiry and listening; the servers are closed by their owner. */
  close(): void {
    clearInterval(this.#expiry);
    for (const u of this.#unsubscribe) u();
    for (const key of [...this.#observations.keys()]) {
      const [ep, path] = key.split('\n') as [string, string];
      this.#stopObservation(ep, path);
    }
  }
}
