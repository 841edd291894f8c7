// The Artillery engine: each virtual user is one LwM2M device living for its scenario, reported through Artillery's counters and histograms.
import { randomBytes } from 'node:crypto';
import { parseServerUri, type ObjectDefinition, type OutgoingRequest, type ResourceValue, type ServerUri } from 'lwm2m-gen/runtime';
import { credentialsFor, expandTemplate, FleetOptionError, hexKey, type DeviceCredentials } from './credentials.js';
import { defaultObjects } from './default-objects.js';
import { openDevice, resolveServer, type DeviceSettings, type OpenedDevice } from './device.js';
import { parseResourcePath, type ValueGeneratorOptions } from './generators.js';
import { loadObjects } from './load-objects.js';
import { modelDevice, ModelInstance } from './model-device.js';
import { checkValueOptions, toResourceValue, ValueDriver, type FleetDevice } from './values.js';

/** What Artillery hands an engine: the script's config, and the events its metrics come from. */
export interface ArtilleryScript {
  readonly config: {
    readonly target?: string;
    readonly engines?: Readonly<Record<string, unknown>>;
  };
}
export interface ArtilleryEvents {
  emit(event: 'counter' | 'histogram', name: string, value: number): unknown;
  emit(event: 'started'): unknown;
  emit(event: 'error', code: string): unknown;
}
export interface ArtilleryHelpers {
  /** Artillery's `{{ variable }}` templating against a virtual user's context. */
  template(value: unknown, context: ArtilleryContext): unknown;
}
export interface ArtilleryContext {
  readonly vars: Record<string, unknown>;
}
export type ArtilleryScenario = (context: ArtilleryContext, done: (err: Error | null, context: ArtilleryContext) => void) => void;

/** `config.engines.lwm2m` of a scenario: how its devices look. The server URI is the script's `config.target`. */
export interface Lwm2mEngineConfig {
  /** Endpoint name: Artillery `{{ vars }}`, then {i} (this worker's device count), {w} (this worker's random id). Default "art-{w}-{i}". */
  readonly endpoint?: string;
  readonly pskIdentity?: string;
  /** Hex after templating; per device from a payload CSV with "{{ key }}". */
  readonly pskKey?: string;
  readonly lifetime?: number;
  readonly updateEverySeconds?: number;
  /** A module of generated models (path from the working directory); default the LwM2M Server and Device objects. */
  readonly objects?: string;
  readonly values?: readonly ValueGeneratorOptions[];
  readonly handshakeTimeoutMs?: number;
  /** How long a step waits for the server (Register, Update, De-register), default 10 s. */
  readonly timeoutSeconds?: number;
}

/** One step of a scenario's flow. */
export type Lwm2mStep =
  | { readonly register: Record<string, never> | null }
  | { readonly update: Record<string, never> | null }
  | { readonly deregister: Record<string, never> | null }
  | { readonly think: number | string }
  | { readonly set: { readonly path: string; readonly value: number | string | boolean } }
  | { readonly loop: readonly Lwm2mStep[]; readonly count?: number };

const METRIC = 'lwm2m';

function operationOf(req: OutgoingRequest): string {
  if (req.method === 'DELETE') return 'deregister';
  return (req.path?.length ?? 0) > 1 ? 'update' : 'register';
}

class StepError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/**
 * The engine Artillery constructs with `new Engine(script, events, helpers)` (through the artillery-engine-lwm2m
 * package, a CommonJS shim). Bad configuration throws FleetOptionError before any virtual user starts.
 */
export class Lwm2mArtilleryEngine {
  readonly config: Lwm2mEngineConfig;
  readonly #events: ArtilleryEvents;
  readonly #helpers: ArtilleryHelpers;
  readonly #serverUri: string;
  readonly #uri: ServerUri;
  readonly #worker = randomBytes(3).toString('hex');
  readonly #objects: Promise<readonly ObjectDefinition[]>;
  #count = 0;

  constructor(script: ArtilleryScript, events: ArtilleryEvents, helpers: ArtilleryHelpers) {
    this.config = (script.config.engines?.[METRIC] ?? {}) as Lwm2mEngineConfig;
    this.#events = events;
    this.#helpers = helpers;
    const target = script.config.target;
    if (!target) throw new FleetOptionError('target', 'config.target must be the LwM2M server URI, e.g. coap://127.0.0.1:5683');
    this.#serverUri = target;
    try {
      this.#uri = parseServerUri(target);
    } catch (err) {
      throw new FleetOptionError('target', `config.target: ${(err as Error).message}; write e.g. coap://127.0.0.1:5683`);
    }
    const c = this.config;
    if (this.#uri.secure && c.pskKey === undefined) throw new FleetOptionError('pskKey', `${this.#uri.scheme}:// needs config.engines.lwm2m.pskKey (hex)`);
    if (!this.#uri.secure && c.pskKey !== undefined) throw new FleetOptionError('pskKey', `a PSK key needs a coaps:// or coaps+tcp:// target, not ${this.#uri.scheme}://`);
    // Templates without Artillery variables are checked now, as the CLI checks its own.
    if (c.pskKey !== undefined && !c.pskKey.includes('{{')) credentialsFor({ endpoint: 'x-{i}', pskKey: c.pskKey, pskIdentity: c.pskIdentity ?? '{ep}' }, 0, 1);
    this.#objects = c.objects !== undefined ? loadObjects(c.objects) : Promise.resolve(defaultObjects);
    // Generators are checked against the models once they are loaded (the first device waits for it).
    this.#objects = this.#objects.then((objects) => {
      checkValueOptions(c.values ?? [], objects);
      return objects;
    });
    this.#objects.catch(() => undefined);
  }

  createScenario(spec: { readonly flow?: readonly Lwm2mStep[] }, events: ArtilleryEvents): ArtilleryScenario {
    const flow = spec.flow ?? [{ register: null }, { think: 10 }, { deregister: null }];
    return (context, done) => {
      events.emit('started');
      this.#run(flow, context, events).then(
        () => done(null, context),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          events.emit('error', e instanceof StepError ? e.code : e instanceof FleetOptionError ? `config ${e.option}` : e.name);
          done(e, context);
        },
      );
    };
  }

  #text(value: string | undefined, context: ArtilleryContext): string | undefined {
    return value === undefined ? undefined : String(this.#helpers.template(value, context));
  }

  #credentials(context: ArtilleryContext, index: number): DeviceCredentials {
    const c = this.config;
    const endpoint = expandTemplate((this.#text(c.endpoint, context) ?? 'art-{w}-{i}').replaceAll('{w}', this.#worker), index);
    if (c.pskKey === undefined) return { endpointName: endpoint };
    const identity = expandTemplate(this.#text(c.pskIdentity, context) ?? '{ep}', index, endpoint);
    return { endpointName: endpoint, pskIdentity: identity, pskKey: hexKey('pskKey', expandTemplate(this.#text(c.pskKey, context)!, index, endpoint), `pskKey of ${endpoint}`) };
  }

  async #run(flow: readonly Lwm2mStep[], context: ArtilleryContext, events: ArtilleryEvents): Promise<void> {
    const objects = await this.#objects;
    const index = this.#count++;
    const c = this.config;
    const creds = this.#credentials(context, index);
    const settings: DeviceSettings = {
      lifetime: c.lifetime ?? 300,
      ...(c.updateEverySeconds !== undefined ? { updateEverySeconds: c.updateEverySeconds } : {}),
      ...(c.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: c.handshakeTimeoutMs } : {}),
      // A virtual user lives for one scenario: a failed Register is reported, not retried behind the flow's back.
      retry: { initialDelayMs: 3_600_000 },
    };
    const live: FleetDevice[] = [];
    const values = new ValueDriver(c.values ?? [], 1, live, () => events.emit('counter', `${METRIC}.errors.generator`, 1));
    const instances = modelDevice(objects, { index, endpointName: creds.endpointName, binding: this.#uri.binding, lifetime: settings.lifetime }, values.paths);
    values.seed(index, 0, instances);
    let device: OpenedDevice;
    try {
      const server = this.#uri.scheme === 'coap' ? await resolveServer(this.#uri) : undefined;
      device = await openDevice(this.#serverUri, this.#uri, server, creds, instances, settings, {
        response: (ms, req) => {
          events.emit('histogram', `${METRIC}.response_time`, ms);
          events.emit('histogram', `${METRIC}.response_time.${operationOf(req)}`, ms);
        },
        notification: () => events.emit('counter', `${METRIC}.notifications`, 1),
      });
    } catch (err) {
      throw new StepError('connect', (err as Error).message);
    }
    const client = device.client;
    client.on('registered', () => events.emit('counter', `${METRIC}.registrations`, 1));
    client.on('updated', () => events.emit('counter', `${METRIC}.updates`, 1));
    client.on('deregistered', () => events.emit('counter', `${METRIC}.deregistrations`, 1));
    client.on('request', (e) => events.emit('counter', `${METRIC}.requests.${e.code}`, 1));
    client.on('error', (e) => events.emit('counter', `${METRIC}.errors.${/^Coap|Dtls|Tls/.test(e.name) ? 'transport' : 'handler'}`, 1));
    live.push({ index, client, get registered() { return client.state === 'registered'; } });
    const timeoutMs = (c.timeoutSeconds ?? 10) * 1000;
    try {
      values.start();
      await this.#steps(flow, device, context, timeoutMs);
    } finally {
      values.stop();
      const timedOut = await device.close(timeoutMs);
      if (timedOut) events.emit('counter', `${METRIC}.errors.deregister_timeout`, 1);
    }
  }

  async #steps(flow: readonly Lwm2mStep[], device: OpenedDevice, context: ArtilleryContext, timeoutMs: number): Promise<void> {
    const client = device.client;
    const outcome = async (operation: 'register' | 'update', start: () => Promise<void>): Promise<void> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const offs: Array<() => void> = [];
      const done = new Promise<void>((resolve, reject) => {
        offs.push(
          client.once(operation === 'register' ? 'registered' : 'updated', () => resolve()),
          client.once('registration-failed', (e) => reject(new StepError(`${operation} ${e.code ?? 'timeout'}`, e.error.message))),
        );
        timer = setTimeout(() => reject(new StepError(`${operation} timeout`, `no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await start();
        await done;
      } finally {
        clearTimeout(timer);
        for (const off of offs) off();
      }
    };
    for (const step of flow) {
      if ('register' in step) {
        await outcome('register', () => client.start());
      } else if ('update' in step) {
        if (client.state !== 'registered') throw new StepError('update unregistered', 'update before the device registered');
        await outcome('update', () => client.update());
      } else if ('deregister' in step) {
        if (await device.close(timeoutMs)) throw new StepError('deregister timeout', `no answer within ${timeoutMs} ms`);
      } else if ('think' in step) {
        const seconds = Number(this.#helpers.template(step.think, context));
        if (!(seconds >= 0)) throw new StepError('bad think', `think ${String(step.think)} is not a number of seconds`);
        await new Promise((r) => setTimeout(r, seconds * 1000));
      } else if ('set' in step) {
        const path = parseResourcePath(step.set.path);
        const inst = client.registry.instance(path.objectId, path.instanceId);
        const r = inst?.definition.resource(path.resourceId);
        if (!(inst instanceof ModelInstance) || !r) throw new StepError('set unknown', `${step.set.path}: the device has no such resource`);
        const value: ResourceValue = toResourceValue(r, this.#helpers.template(step.set.value, context) as number | string | boolean);
        inst.set(r.id, r.multiple ? new Map([[0, value]]) : value);
      } else if ('loop' in step) {
        for (let i = 0; i < (step.count ?? 1); i++) await this.#steps(step.loop, device, context, timeoutMs);
      } else {
        throw new StepError('bad step', `unknown step ${JSON.stringify(step)} (use register, update, think, set, loop, deregister)`);
      }
    }
  }
}
