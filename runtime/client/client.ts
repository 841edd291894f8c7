// Lwm2mClient: the registration lifecycle with one LwM2M Server, the Server object's behaviour, and request serving.
import { systemClock, type Clock, type TimerHandle } from '../coap/clock.js';
import type { Block1Sink, Block1Start, CoapEndpoint, IncomingRequest, IncomingResponse, OutgoingResponse, Peer } from '../coap/types.js';
import { ContentFormat } from '../codec/index.js';
import { parsePath, type ObjectDefinition, type ResourceContent } from '../model.js';
import { AttributeStore, type NotifyPolicy, type NotifyScheduler } from '../notify/index.js';
import type { ObjectInstance } from '../object/instance.js';
import { TypedEmitter, type ClientEvents } from './events.js';
import { registrationLinks } from './links.js';
import { ObjectRegistry, ClientUsageError, type ObjectOptions, type RegistryEvent } from './registry.js';
import { ClientObservations } from './observe.js';
import { RequestRouter } from './router.js';

import { CLIENT_HANDLED_EXECUTES, SERVER_OBJECT, ServerResource } from './server-resources.js';

export { SERVER_OBJECT, ServerResource };

const DEFAULT_LIFETIME = 86400;
const DEFAULT_DISABLE_TIMEOUT = 86400;
/** CoAP MAX_TRANSMIT_WAIT (RFC 7252 4.8.2): an Update must start at least this long before the lifetime ends. */
const MAX_TRANSMIT_WAIT_S = 93;

export interface RetryOptions {
  /** Delay before the second attempt, in ms (default 5000). */
  readonly initialDelayMs?: number;
  /** Upper bound of the delay, in ms (default 300000). */
  readonly maxDelayMs?: number;
  /** Growth per failure (default 2). */
  readonly factor?: number;
}

export interface Lwm2mClientOptions {
  /** Endpoint Client Name (`ep=`). */
  readonly endpointName: string;
  /** The CoAP endpoint the client registers from and serves on; the app owns it (the client never closes it). */
  readonly transport: CoapEndpoint;
  /** The LwM2M Server's address. Requests from any other peer are refused with 4.03. */
  readonly server: Peer;
  /** Which Server object instance is this server's (/1/x/0); by default the only /1 instance, if any. */
  readonly shortServerId?: number;
  /** Lifetime in seconds when no Server instance says (/1/x/1); default 86400. */
  readonly lifetime?: number;
  /** Binding when no Server instance says (/1/x/7); default "U". */
  readonly binding?: string;
  /** The `lwm2m=` version the client announces; default "1.1". */
  readonly lwm2mVersion?: string;
  /** Content-Format of multi-value Reads without Accept, also announced as `ct`; default SenML CBOR (112). */
  readonly preferredFormat?: number;
  /** Uri-Path of the registration interface; default ["rd"]. */
  readonly registrationPath?: readonly string[];
  /** Extra Register query items ("tk=…"), computed for every Register so a renewed token is picked up. */
  readonly extraQuery?: readonly string[] | (() => readonly string[]);
  /** When to send the Update, in seconds after a successful Register/Update, from the lifetime. */
  readonly updateAfter?: (lifetimeSeconds: number) => number;
  readonly retry?: RetryOptions;
  /** Timers (a manual clock in tests); default the system clock. */
  readonly clock?: Clock;
  /** The notify scheduler; by default the process-wide one (or a private one on `clock` when given). */
  readonly scheduler?: NotifyScheduler;
  /** Notification defaults where neither Write-Attributes nor the Server object say (notify's DEFAULT_NOTIFY_POLICY). */
  readonly notifyPolicy?: NotifyPolicy;
  /** Notifications as CON (default false: NON, with a CON at least daily). */
  readonly confirmableNotifications?: boolean;
}

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'waiting' | 'disabled' | 'stopped';

interface Sent {
  readonly lifetime: number;
  readonly binding: string;
  readonly links: string;
}

/** The default Update time: 90% of the lifetime, but at least MAX_TRANSMIT_WAIT before it ends and at most halfway. */
export function defaultUpdateAfter(lifetime: number): number {
  return Math.max(lifetime / 2, lifetime - Math.max(lifetime / 10, MAX_TRANSMIT_WAIT_S));
}

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Opens the sink of a streamed Write (see Lwm2mClient.streamWrites); a thrown Lwm2mError refuses the upload with its code. */
export type StreamedWriteOpener = (instance: ObjectInstance, start: Block1Start) => Block1Sink | Promise<Block1Sink>;

/** A registration request the server answered with an error code. */
export class RegistrationError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'RegistrationError';
    this.code = code;
  }
}

export class Lwm2mClient extends TypedEmitter<ClientEvents> {
  readonly registry = new ObjectRegistry();
  /** Notification attributes this server wrote (Write-Attributes), read by Discover and the notify scheduler. */
  readonly attributes = new AttributeStore();
  readonly #o: Lwm2mClientOptions;
  readonly #clock: Clock;
  readonly #router: RequestRouter;
  /** The client's observations (Observe on its server's requests), for inspection and tests. */
  readonly observations: ClientObservations;
  #state: RegistrationState = 'idle';
  #location: readonly string[] | undefined;
  #sent: Sent | undefined;
  #attempts = 0;
  #queue: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #updateSoon: TimerHandle | undefined;
  /** Resources whose block-wise Writes stream to a sink, by "objectId/resourceId". */
  readonly #streamed = new Map<string, StreamedWriteOpener>();

  constructor(options: Lwm2mClientOptions) {
    super();
    if (!options.endpointName) throw new ClientUsageError('endpointName is required');
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.observations = new ClientObservations({
      registry: this.registry,
      transport: options.transport,
      attributes: this.attributes,
      serverDefaults: () => this.serverDefaults(),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.notifyPolicy ? { policy: options.notifyPolicy } : {}),
      ...(options.confirmableNotifications !== undefined ? { confirmable: options.confirmableNotifications } : {}),
      onError: (error) => this.emit('error', error),
    });
    this.#router = new RequestRouter({
      registry: this.registry,
      preferredFormat: options.preferredFormat ?? ContentFormat.SENML_CBOR,
      attributes: this.attributes,
      // ---- the Observe hook: GET Observe=0/1 go to the notify module's registry and scheduler ----
      observe: this.observations.hooks(),
      onAttributesWritten: (path) => this.observations.refresh(path),
      interceptExecute: (p) => this.#interceptExecute(p.objectId, p.instanceId, p.resourceId),
      extraResources: (inst) => this.#serverExtraResources(inst),
      protectedInstance: (objectId, instanceId) =>
        objectId === SERVER_OBJECT && this.#serverInstance()?.instanceId === instanceId,
      onInternalError: (error) => this.emit('error', error),
    });
    this.registry.onEvent((e) => this.#onRegistryEvent(e));
  }

  // ---- the object registry ----

  addObject(definition: ObjectDefinition, options: ObjectOptions = {}): this {
    this.registry.addObject(definition, options);
    return this;
  }

  addInstance(instance: ObjectInstance): this {
    this.registry.addInstance(instance);
    return this;
  }

  removeInstance(objectId: number, instanceId: number): boolean {
    return this.registry.removeInstance(objectId, instanceId);
  }

  /**
   * Streams block-wise Writes (PUT, application/octet-stream) of one resource, in every instance of the
   * object, to a sink block by block instead of reassembling them: a firmware Package larger than memory
   * or than the endpoint's maxBodySize. Needs an endpoint with streamBlock1 (UDP, DTLS); on others the
   * Write arrives whole through the instance's write hook as before.
   */
  streamWrites(objectId: number, resourceId: number, open: StreamedWriteOpener): this {
    this.#streamed.set(`${objectId}/${resourceId}`, open);
    this.#o.transport.streamBlock1?.((start) => this.#selectStream(start));
    return this;
  }

  #selectStream(start: Block1Start): Block1Sink | Promise<Block1Sink> | undefined {
    // Anything not plainly ours takes the usual path, which answers it (4.03 for a stranger, 5.03 when stopped).
    if (this.#state === 'stopped' || !this.#isServer(start.peer) || start.method !== 'PUT') return undefined;
    // Other Content-Formats wrap the value (TLV, SenML) and are decoded whole.
    if (start.contentFormat !== ContentFormat.OPAQUE) return undefined;
    const path = parsePath(start.path.join('/'));
    if (!path || path.instanceId === undefined || path.resourceId === undefined || path.resourceInstanceId !== undefined) return undefined;
    const open = this.#streamed.get(`${path.objectId}/${path.resourceId}`);
    const instance = open ? this.registry.instance(path.objectId, path.instanceId) : undefined;
    return open && instance ? open(instance, start) : undefined;
  }

  /**
   * Tells the client that its server answered a NON notification with RST (the observation is cancelled).
   * Wire it to the endpoint: `createUdpEndpoint({ onNotificationReset: (p, t) => client.notificationReset(p, t) })`.
   */
  notificationReset(peer: Peer, token: Uint8Array): void {
    this.observations.reset(peer, token);
  }

  // ---- state ----

  get state(): RegistrationState {
    return this.#state;
  }

  /** The registration's Location-Path while registered. */
  get location(): readonly string[] | undefined {
    return this.#location;
  }

  /** Default pmin/pmax from this server's Server instance (/1/x/2, /1/x/3), for the notify scheduler. */
  serverDefaults(): { pmin?: number; pmax?: number } {
    const out: { pmin?: number; pmax?: number } = {};
    const pmin = this.#serverValue(ServerResource.DEFAULT_PMIN);
    const pmax = this.#serverValue(ServerResource.DEFAULT_PMAX);
    if (typeof pmin === 'number') out.pmin = pmin;
    if (typeof pmax === 'number') out.pmax = pmax;
    return out;
  }

  /** The lifetime the client registers with: /1/x/1 when present, else the option, else 86400 s. */
  lifetime(): number {
    const v = this.#serverValue(ServerResource.LIFETIME);
    return typeof v === 'number' && v > 0 ? v : this.#o.lifetime ?? DEFAULT_LIFETIME;
  }

  binding(): string {
    const v = this.#serverValue(ServerResource.BINDING);
    return typeof v === 'string' && v !== '' ? v : this.#o.binding ?? 'U';
  }

  /** The object links the client would register with now. */
  links(): string {
    return registrationLinks(this.registry, { contentFormat: this.#o.preferredFormat ?? ContentFormat.SENML_CBOR });
  }

  // ---- lifecycle ----

  /**
   * Starts serving requests and registering. Resolves once the first Register attempt has finished,
   * successful or not (failures are retried in the background; watch 'registered' and 'registration-failed').
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle' && this.#state !== 'stopped') throw new ClientUsageError('client already started');
    this.#o.transport.serve((req) => this.#serve(req));
    this.#state = 'registering';
    this.#attempts = 0;
    await this.#enqueue(() => this.#register());
  }

  /** Stops timers and de-registers when registered. Waits for an exchange in flight to finish first. */
  async stop(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#cancelTimers();
    await this.#enqueue(async () => {
      if (this.#location) await this.#deregister('stop');
    });
    this.#endSession();
    this.#cancelTimers();
  }

  /**
   * Registers afresh (a new Register replacing the current registration), e.g. after a renewed SAS token
   * changed the extra query items, which only a Register carries. Retries as usual when it fails.
   */
  async reregister(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'stopped' || this.#state === 'disabled') return;
    await this.#enqueue(async () => {
      if (this.#state === 'idle' || this.#state === 'stopped' || this.#state === 'disabled') return;
      this.#cancelTimers();
      this.#state = 'registering';
      this.#attempts = 0;
      await this.#register();
    });
  }

  /** Sends an Update now (what Registration Update Trigger does); a no-op unless registered. */
  async update(): Promise<void> {
    await this.#enqueue(() => this.#update());
  }

  // ---- serving ----

  #isServer(peer: Peer): boolean {
    return peer.port === this.#o.server.port && normalizeAddress(peer.address) === normalizeAddress(this.#o.server.address);
  }

  async #serve(req: IncomingRequest): Promise<OutgoingResponse> {
    const uriPath = `/${req.path.join('/')}`;
    if (this.#state === 'stopped') {
      this.emit('request', { method: req.method, path: undefined, uriPath, code: '5.03' });
      return { code: '5.03' };
    }
    if (!this.#isServer(req.peer)) {
      // Only the server this client registered with may manage it; a stranger learns nothing and changes nothing.
      this.emit('request', { method: req.method, path: undefined, uriPath, code: '4.03' });
      return { code: '4.03' };
    }
    if (req.streamed !== undefined) {
      // The body went block by block to the sink streamWrites named, and its last block was taken.
      this.emit('request', { method: req.method, path: parsePath(req.path.join('/')), uriPath, code: '2.04' });
      return { code: '2.04' };
    }
    const { response, path } = await this.#router.handle(req);
    this.emit('request', { method: req.method, path, uriPath, code: response.code });
    return response;
  }

  // ---- the Server object ----

  #serverInstance(): ObjectInstance | undefined {
    const instances = this.registry.instances(SERVER_OBJECT);
    const ssid = this.#o.shortServerId;
    if (ssid === undefined) return instances.length === 1 ? instances[0] : undefined;
    return instances.find((inst) => {
      try {
        return inst.readResource(ServerResource.SHORT_SERVER_ID) === ssid;
      } catch {
        return false;
      }
    });
  }

  #serverValue(resourceId: number): ResourceContent | undefined {
    const inst = this.#serverInstance();
    if (!inst?.hasResource(resourceId)) return undefined;
    try {
      return inst.readResource(resourceId);
    } catch {
      return undefined;
    }
  }

  #serverExtraResources(inst: ObjectInstance): number[] {
    if (inst.definition.id !== SERVER_OBJECT || inst !== this.#serverInstance()) return [];
    return (CLIENT_HANDLED_EXECUTES[SERVER_OBJECT] ?? []).filter((id) => inst.definition.resource(id) !== undefined);
  }

  #interceptExecute(objectId: number, instanceId: number, resourceId: number): boolean {
    if (objectId !== SERVER_OBJECT || this.#serverInstance()?.instanceId !== instanceId) return false;
    if (resourceId === ServerResource.REGISTRATION_UPDATE_TRIGGER) {
      // After the 2.04 has gone out: the timer runs once the current handler has returned.
      this.#clock.setTimeout(() => void this.update(), 0);
      return true;
    }
    if (resourceId === ServerResource.DISABLE) {
      this.#clock.setTimeout(() => void this.#disable(), 0);
      return true;
    }
    return false;
  }

  async #disable(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    const t = this.#serverValue(ServerResource.DISABLE_TIMEOUT);
    const seconds = typeof t === 'number' && t >= 0 ? t : DEFAULT_DISABLE_TIMEOUT;
    this.#cancelTimers();
    this.#state = 'disabled';
    await this.#enqueue(async () => {
      if (this.#location) await this.#deregister('disable');
    });
    if (this.#state !== 'disabled') return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'disabled') return;
      this.#state = 'registering';
      this.#attempts = 0;
      void this.#enqueue(() => this.#register());
    }, seconds * 1000);
  }

  #onRegistryEvent(e: RegistryEvent): void {
    if (e.kind === 'instance-removed') this.attributes.clearInstance(e.objectId, e.instanceId);
    this.observations.onRegistryEvent(e);
    if (e.kind === 'resource-changed') {
      if (e.objectId !== SERVER_OBJECT || e.instance !== this.#serverInstance()) return;
      if (e.resourceId === ServerResource.DEFAULT_PMIN || e.resourceId === ServerResource.DEFAULT_PMAX) {
        this.observations.refresh();
      }
      if (e.resourceId !== ServerResource.LIFETIME && e.resourceId !== ServerResource.BINDING) return;
    }
    this.#requestUpdate();
  }

  /** Coalesces changes made in one go (several instances added, a Write of lifetime and binding) into one Update. */
  #requestUpdate(): void {
    if (this.#state !== 'registered' || this.#updateSoon !== undefined) return;
    this.#updateSoon = this.#clock.setTimeout(() => {
      this.#updateSoon = undefined;
      void this.#enqueue(() => this.#update());
    }, 0);
  }

  // ---- registration ----

  /** Runs registration exchanges one at a time, in order; an operation's failure never breaks the chain. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(op).catch((err: unknown) => {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
    this.#queue = run;
    return run;
  }

  #cancelTimers(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#updateSoon !== undefined) this.#clock.clearTimeout(this.#updateSoon);
    this.#timer = undefined;
    this.#updateSoon = undefined;
  }

  #rdPath(): readonly string[] {
    return this.#o.registrationPath ?? ['rd'];
  }

  #extraQuery(): readonly string[] {
    const q = this.#o.extraQuery;
    return typeof q === 'function' ? q() : q ?? [];
  }

  /** Observations belong to a registration: they all end when it does (De-register) or is replaced (Register). */
  #endSession(): void {
    this.observations.endAll();
  }

  async #register(): Promise<void> {
    if (this.#state !== 'registering' && this.#state !== 'waiting') return;
    this.#state = 'registering';
    this.#location = undefined;
    this.#endSession();
    const lifetime = this.lifetime();
    const binding = this.binding();
    const links = this.links();
    const query = [
      `ep=${this.#o.endpointName}`, `lt=${lifetime}`, `lwm2m=${this.#o.lwm2mVersion ?? '1.1'}`, `b=${binding}`,
      ...this.#extraQuery(),
    ];
    let res: IncomingResponse;
    try {
      res = await this.#o.transport.request(this.#o.server, {
        method: 'POST', path: this.#rdPath(), query, contentFormat: ContentFormat.LINK_FORMAT,
        payload: new TextEncoder().encode(links),
      });
    } catch (err) {
      this.#failed('register', err instanceof Error ? err : new Error(String(err)), undefined);
      return;
    }
    if (this.#state !== 'registering') {
      // stop() or Disable came while the Register was in flight: keep the location so their De-register reaches it.
      if (res.code === '2.01' && res.locationPath.length > 0) this.#location = [...res.locationPath];
      return;
    }
    if (res.code !== '2.01' || res.locationPath.length === 0) {
      const why = res.code === '2.01' ? 'Register answered 2.01 without a Location-Path' : `Register refused with ${res.code}`;
      this.#failed('register', new RegistrationError(why, res.code), res.code);
      return;
    }
    this.#location = [...res.locationPath];
    this.#sent = { lifetime, binding, links };
    this.#attempts = 0;
    this.#state = 'registered';
    this.#scheduleUpdate(lifetime);
    this.emit('registered', { location: this.#location, lifetime });
  }

  #failed(operation: 'register' | 'update', error: Error, code: string | undefined): void {
    if (this.#state === 'stopped' || this.#state === 'disabled') return;
    this.#attempts++;
    const r = this.#o.retry ?? {};
    const delay = Math.min(
      (r.initialDelayMs ?? 5000) * (r.factor ?? 2) ** (this.#attempts - 1),
      r.maxDelayMs ?? 300_000,
    );
    this.#location = undefined;
    this.#state = 'waiting';
    this.#cancelTimers();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueue(() => this.#register());
    }, delay);
    this.emit('registration-failed', code === undefined
      ? { operation, error, attempt: this.#attempts, retryInMs: delay }
      : { operation, error, code, attempt: this.#attempts, retryInMs: delay });
  }

  #scheduleUpdate(lifetime: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const after = (this.#o.updateAfter ?? defaultUpdateAfter)(lifetime);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueue(() => this.#update());
    }, Math.max(0, after) * 1000);
  }

  async #update(): Promise<void> {
    if (this.#state !== 'registered' || !this.#location || !this.#sent) return;
    const location = this.#location;
    const lifetime = this.lifetime();
    const binding = this.binding();
    const links = this.links();
    const query: string[] = [];
    if (lifetime !== this.#sent.lifetime) query.push(`lt=${lifetime}`);
    if (binding !== this.#sent.binding) query.push(`b=${binding}`);
    const sendLinks = links !== this.#sent.links;
    let res: IncomingResponse;
    try {
      res = await this.#o.transport.request(this.#o.server, sendLinks
        ? { method: 'POST', path: location, query, contentFormat: ContentFormat.LINK_FORMAT, payload: new TextEncoder().encode(links) }
        : { method: 'POST', path: location, query });
    } catch (err) {
      this.#failed('update', err instanceof Error ? err : new Error(String(err)), undefined);
      return;
    }
    if (this.#state !== 'registered') return;
    if (res.code === '4.04') {
      // The server forgot us (restart, expiry): register afresh right away.
      this.emit('registration-failed', {
        operation: 'update', code: res.code, error: new RegistrationError('Update answered 4.04: registration unknown', res.code),
        attempt: 1, retryInMs: 0,
      });
      this.#location = undefined;
      this.#state = 'registering';
      this.#cancelTimers();
      await this.#register();
      return;
    }
    if (!res.code.startsWith('2.')) {
      this.#failed('update', new RegistrationError(`Update refused with ${res.code}`, res.code), res.code);
      return;
    }
    this.#sent = { lifetime, binding, links };
    this.#scheduleUpdate(lifetime);
    const event: { location: readonly string[]; links: boolean; lifetime?: number; binding?: string } = { location, links: sendLinks };
    if (query.some((q) => q.startsWith('lt='))) event.lifetime = lifetime;
    if (query.some((q) => q.startsWith('b='))) event.binding = binding;
    this.emit('updated', event);
  }

  async #deregister(reason: 'stop' | 'disable'): Promise<void> {
    const location = this.#location;
    if (!location) return;
    this.#location = undefined;
    this.#sent = undefined;
    this.#endSession();
    try {
      const res = await this.#o.transport.request(this.#o.server, { method: 'DELETE', path: location });
      if (!res.code.startsWith('2.') && res.code !== '4.04') {
        this.emit('error', new RegistrationError(`De-register answered ${res.code}`, res.code));
      }
    } catch (err) {
      // The server may be gone; the client is de-registered from its own point of view either way.
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
    this.emit('deregistered', { location, reason });
  }
}
