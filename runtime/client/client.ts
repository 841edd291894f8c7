// Lwm2mClient: the facade an app holds — its objects, request serving, observations — over the registration engine and the Server object.
import { systemClock } from '../coap/clock.js';
import type { Block1Sink, Block1Start, IncomingRequest, OutgoingResponse, Peer } from '../coap/types.js';
import { ContentFormat, isSupportedFormat } from '../codec/index.js';
import { formatPath, parsePath, type Lwm2mPath, type ObjectDefinition } from '../model.js';
import { AttributeStore } from '../notify/index.js';
import { INITIAL_OFFLINE_BITS, notificationDeliverer, offlineBits, Outbox, type OfflineReason } from '../notify/outbox.js';
import { StoredQueue } from '../notify/stored.js';
import type { ObjectInstance } from '../object/instance.js';
import { TypedEmitter, type ClientEvents } from './events.js';
import { internLinks, registrationLinks } from './links.js';
import { ObjectRegistry, ClientUsageError, type ObjectOptions, type RegistryEvent } from './registry.js';
import { ClientObservations } from './observe.js';
import { QueueModeController } from './queue-mode.js';
import { RegistrationEngine, type RegistrationState } from './registration.js';
import { RequestRouter, type ObserveHooks } from './router.js';
import {
  Sender, SendNotRegisteredError, sendDeliverer, type CapturedSend, type SendOptions, type SendResult, type SendTarget,
} from './send.js';
import { ServerObject, ServerResource } from './server-object.js';
import { MissingMandatoryError, type ClientSession, type Lwm2mClientOptions, type StreamedWriteOpener } from './client-options.js';

export { MissingMandatoryError, type ClientSession, type Lwm2mClientOptions, type StreamedWriteOpener } from './client-options.js';

/** Supported formats that carry one value (or links) only: never a preferred format for Reads of several values. */
const SINGLE_VALUE_FORMATS: ReadonlySet<number> = new Set([ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.LINK_FORMAT]);

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class Lwm2mClient extends TypedEmitter<ClientEvents> {
  readonly registry: ObjectRegistry;
  readonly #o: Lwm2mClientOptions;
  readonly #server: ServerObject;
  readonly #engine: RegistrationEngine;
  #sender: Sender | undefined;
  // Made on first use (a fleet holds many clients, most of them never observed nor written to): the attributes,
  // the observations and the router, with the tables below.
  #attributes: AttributeStore | undefined;
  #observations: ClientObservations | undefined;
  #router: RequestRouter | undefined;
  #observeHooks: ObserveHooks | undefined;
  /** Resources whose block-wise Writes stream to a sink, by "objectId/resourceId". */
  #streamed: Map<string, StreamedWriteOpener> | undefined;
  readonly #offRegistry: () => void;
  /** Paths the server wrote attributes at, for the session a store keeps. */
  #attributePaths: Map<string, Lwm2mPath> | undefined;
  /** Made on first use (see `outbox`); until then the offline reasons are kept here, as the Outbox's bits. */
  #outbox: Outbox | undefined;
  #offline = INITIAL_OFFLINE_BITS;
  readonly #queueMode: QueueModeController | undefined;

  constructor(options: Lwm2mClientOptions) {
    super();
    if (!options.endpointName) throw new ClientUsageError('endpointName is required');
    const format = options.preferredFormat ?? ContentFormat.SENML_CBOR;
    if (!isSupportedFormat(format) || SINGLE_VALUE_FORMATS.has(format)) {
      throw new ClientUsageError(`preferredFormat ${format} cannot be announced: it is not a format the client encodes `
        + 'several values in (TLV, SenML JSON, SenML CBOR, LwM2M CBOR, LwM2M JSON)');
    }
    this.#o = options;
    this.registry = options.registry ?? new ObjectRegistry();
    const clock = options.clock ?? systemClock;
    this.#queueMode = options.queueMode ? new QueueModeController({
      ...options.queueMode, clock,
      onSleep: () => {
        this.#setOffline('asleep', true);
        this.emit('sleeping', { awakeMs: this.#queueMode!.awakeMs });
      },
      onWake: (reason) => this.emit('awake', { reason }),
    }) : undefined;
    this.#server = new ServerObject({
      registry: this.registry,
      ...(options.shortServerId !== undefined ? { shortServerId: options.shortServerId } : {}),
      settings: options,
      onUpdateTrigger: () => void this.update(),
      onDisable: () => void this.#engine.disable(),
      ...(options.onBootstrapRequest ? { onBootstrapRequest: options.onBootstrapRequest } : {}),
    });
    this.#engine = new RegistrationEngine({
      ...options,
      clock,
      lifetime: () => this.lifetime(),
      binding: () => this.binding(),
      links: () => this.links(),
      disableTimeout: () => this.#server.disableTimeout(),
      endSession: (why) => {
        // The server's observations end with the registration; held notifications for them are void then. A client that
        // stops without de-registering keeps them (the store carries them to its restart, whose Update resumes them).
        if (why !== 'stop') this.#outbox?.queue.discard((i) => i.kind === 'notify', 'session-ended');
        if ((this.#observations?.endAll() ?? 0) > 0) options.onSessionChange?.();
      },
      keepSessionWhileDisabled: () => this.#storing(),
      ...(options.queueMode ? { registerQueueMode: true, beforeRequest: () => { this.#queueMode?.wake('update'); } } : {}),
      emit: (name, event) => {
        this.#reachability(name, event);
        this.emit(name, event);
        if (name === 'registered' || name === 'updated' || name === 'deregistered') options.onSessionChange?.();
      },
      ...(options.onRegistrationExhausted ? { onExhausted: options.onRegistrationExhausted } : {}),
    });
    // Held messages kept in a store from before a restart go out after the resumed Update: that outbox is made now.
    if (options.notificationStore?.persist) this.#outbox = this.#makeOutbox();
    this.#offRegistry = this.registry.onEvent((e) => this.#onRegistryEvent(e));
  }

  /**
   * What goes to the server goes through here: out at once while the registration is usable, held while it is not
   * (unreachable, disabled, asleep) and delivered in order when it is back. `outbox.deliverer(kind, fn)` adds kinds.
   * Made on first use (an Observe, a Send, or a look here): a fleet holds many clients that never need one.
   */
  get outbox(): Outbox {
    return (this.#outbox ??= this.#makeOutbox());
  }

  #makeOutbox(): Outbox {
    const options = this.#o;
    const store = options.notificationStore ?? {};
    const outbox = new Outbox({
      queue: new StoredQueue({ ...store, onDropped: (e) => this.emit('notifications-dropped', e), onError: (e) => this.emit('error', e) }),
      storing: () => this.#storing(),
      ...(store.now ? { now: store.now } : {}),
      onWakeNeeded: () => void this.wake('notification'),
      onUnreachable: () => void this.#engine.update(),
      onError: (e) => this.emit('error', e),
      reasons: this.#offline,
    });
    outbox.deliverer('notify', notificationDeliverer(options.transport, options.server, (token) => {
      this.observations.reset(options.server, token);
      options.onSessionChange?.();
    }));
    outbox.deliverer('send', sendDeliverer(options.transport, options.server));
    return outbox;
  }

  /** Notification Storing When Disabled or Offline (/1/x/6) as it is now. */
  #storing(): boolean {
    return this.#server.value(ServerResource.NOTIFICATION_STORING) === true;
  }

  /** Sets or clears an offline reason: on the outbox when there is one, else kept for the one made later. */
  #setOffline(reason: OfflineReason, on: boolean): void {
    if (this.#outbox) this.#outbox.offline(reason, on);
    else this.#offline = offlineBits(this.#offline, reason, on);
  }

  /** The Send operation's side, made by the first send() (it keeps nothing but its options). */
  #makeSender(): Sender {
    const options = this.#o;
    return new Sender({
      registry: this.registry,
      transport: options.transport,
      server: options.server,
      state: () => this.#engine.state,
      muteSend: () => this.#server.muteSend(),
      shortServerId: () => this.#server.shortServerId(),
      now: options.wallClock ?? Date.now,
      lwm2mVersion: options.lwm2mVersion ?? '1.1',
      // Without an outbox nothing is held: open exactly when no offline reason is set.
      open: () => (this.#outbox ? this.#outbox.open : this.#offline === 0),
      offline: options.offlineSend ?? ((captured, state) => this.#holdSend(captured, state)),
    });
  }

  /** Notification attributes this server wrote (Write-Attributes), read by Discover and the notify scheduler. */
  get attributes(): AttributeStore {
    return (this.#attributes ??= new AttributeStore());
  }

  /** The client's observations (Observe on its server's requests), for inspection and tests. */
  get observations(): ClientObservations {
    return (this.#observations ??= this.#makeObservations());
  }

  #makeObservations(): ClientObservations {
    const options = this.#o;
    return new ClientObservations({
      registry: this.registry,
      transport: options.transport,
      attributes: this.attributes,
      serverDefaults: () => this.serverDefaults(),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.notifyPolicy ? { policy: options.notifyPolicy } : {}),
      ...(options.confirmableNotifications !== undefined ? { confirmable: options.confirmableNotifications } : {}),
      onError: (error) => this.emit('error', error),
      onNotified: () => {
        this.#queueMode?.activity();
        options.onSessionChange?.();
      },
      outbox: this.outbox,
    });
  }

  /** The observations' Observe hooks, made once with them. */
  #hooks(): ObserveHooks {
    return (this.#observeHooks ??= this.observations.hooks());
  }

  #makeRouter(): RequestRouter {
    const options = this.#o;
    return new RequestRouter({
      registry: this.registry,
      preferredFormat: options.preferredFormat ?? ContentFormat.SENML_CBOR,
      attributes: this.attributes,
      // ---- the Observe hook: GET Observe=0/1 go to the notify module's registry and scheduler ----
      // The observations are made by the first Observe; a cancel before that has nothing to cancel.
      observe: {
        onObserve: (r) => {
          const sequence = this.#hooks().onObserve!(r);
          options.onSessionChange?.();
          return sequence;
        },
        onCancelObserve: (peer, token, path) => {
          if (this.#observations) this.#hooks().onCancelObserve!(peer, token, path);
          options.onSessionChange?.();
        },
        onObserveComposite: (r) => this.#hooks().onObserveComposite!(r),
        onCancelObserveComposite: (peer, token, paths) => {
          if (this.#observations) this.#hooks().onCancelObserveComposite!(peer, token, paths);
        },
      },
      onAttributesWritten: (path) => {
        (this.#attributePaths ??= new Map()).set(formatPath(path), path);
        this.#observations?.refresh(path);
        options.onSessionChange?.();
      },
      protectedInstance: (objectId, instanceId) => this.#server.isProtected(objectId, instanceId),
      // Several servers: each manages its own Server instance only (LwM2M 1.1 7.3.2 without an Access Control object).
      foreignInstance: (objectId, instanceId) => this.#server.isForeign(objectId, instanceId),
      onInternalError: (error) => this.emit('error', error),
    });
  }

  /** Stops listening to a shared registry (the device replaced this server's client); call after stop(). */
  dispose(): void {
    this.#offRegistry();
    this.#observations?.endAll();
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
   * or than the endpoint's maxBodySize. Needs an endpoint with streamBlock1 (every transport of connectClient: UDP, DTLS, and TCP/TLS with BERT); on others the
   * Write arrives whole through the instance's write hook as before.
   */
  streamWrites(objectId: number, resourceId: number, open: StreamedWriteOpener): this {
    (this.#streamed ??= new Map()).set(`${objectId}/${resourceId}`, open);
    this.#o.transport.streamBlock1?.((start) => this.#selectStream(start));
    return this;
  }

  #selectStream(start: Block1Start): Block1Sink | Promise<Block1Sink> | undefined {
    // Anything not plainly ours takes the usual path, which answers it (4.03 for a stranger, 5.03 when stopped).
    if (this.state === 'stopped' || !this.#isServer(start.peer) || start.method !== 'PUT') return undefined;
    // Other Content-Formats wrap the value (TLV, SenML) and are decoded whole.
    if (start.contentFormat !== ContentFormat.OPAQUE) return undefined;
    const path = parsePath(start.path.join('/'));
    if (!path || path.instanceId === undefined || path.resourceId === undefined || path.resourceInstanceId !== undefined) return undefined;
    const open = this.#streamed?.get(`${path.objectId}/${path.resourceId}`);
    const instance = open ? this.registry.instance(path.objectId, path.instanceId) : undefined;
    return open && instance ? open(instance, start) : undefined;
  }

  /**
   * Tells the client that its server answered a NON notification with RST (the observation is cancelled).
   * Wire it to the endpoint: `createUdpEndpoint({ onNotificationReset: (p, t) => client.notificationReset(p, t) })`.
   */
  notificationReset(peer: Peer, token: Uint8Array): void {
    this.#observations?.reset(peer, token);
  }

  // ---- state ----

  get state(): RegistrationState {
    return this.#engine.state;
  }

  /** The registration's Location-Path while registered. */
  get location(): readonly string[] | undefined {
    return this.#engine.location;
  }

  /** The session a store keeps across a restart: the registration, this server's observations and attributes. */
  session(): ClientSession {
    const registration = this.#engine.registration;
    return {
      ...(registration ? { registration } : {}),
      observations: this.#observations?.snapshot(this.#o.server) ?? [],
      attributes: [...(this.#attributePaths?.values() ?? [])]
        .map((path) => ({ path, attributes: this.attributes.get(path) }))
        .filter((a) => Object.keys(a.attributes).length > 0),
    };
  }

  /** This server's Server object instance (/1): the app's, or the one start() made from the options. */
  get serverInstance(): ObjectInstance | undefined {
    return this.#server.instance();
  }

  /** Default pmin/pmax from this server's Server instance (/1/x/2, /1/x/3), for the notify scheduler. */
  serverDefaults(): { pmin?: number; pmax?: number } {
    return this.#server.defaults();
  }

  /** The lifetime the client registers with: /1/x/1, else the option, else 86400 s. */
  lifetime(): number {
    return this.#server.lifetime();
  }

  /** The binding the client registers with: /1/x/7, else the option, else "U". */
  binding(): string {
    return this.#server.binding();
  }

  /** The object links the client would register with now. */
  links(): string {
    return internLinks(registrationLinks(this.registry, { contentFormat: this.#o.preferredFormat ?? ContentFormat.SENML_CBOR }));
  }

  // ---- lifecycle ----

  /**
   * Starts serving requests and registering. Adds the Server instance from the options when the app added none,
   * and rejects with MissingMandatoryError when an instance lacks a mandatory readable resource. Resolves once the
   * first Register attempt has finished, successful or not (failures are retried in the background; watch
   * 'registered', 'registration-pending' and 'registration-failed').
   */
  async start(): Promise<void> {
    const state = this.#engine.state;
    if (state !== 'idle' && state !== 'stopped') throw new ClientUsageError('client already started');
    this.#server.ensureInstance();
    const missing = this.registry.objects().flatMap((entry) => [...entry.instances.values()]
      .sort((a, b) => a.instanceId - b.instanceId)
      .flatMap((inst) => inst.missingMandatory().map((r) => ({ path: formatPath(inst.path(r.id)), name: r.name }))));
    if (missing.length > 0) throw new MissingMandatoryError(missing);
    const resume = this.#o.resume;
    if (resume) {
      for (const a of resume.attributes) {
        this.attributes.apply(a.path, { set: a.attributes, clear: [] });
        (this.#attributePaths ??= new Map()).set(formatPath(a.path), a.path);
      }
      if (resume.registration) this.observations.restore(this.#o.server, resume.observations);
    }
    this.#o.transport.serve((req) => this.#serve(req));
    this.#queueMode?.start();
    await this.#engine.start(resume?.registration);
  }

  /**
   * Stops timers and de-registers when registered. Waits for an exchange in flight to finish first. With
   * `deregister: false` the registration stays at the server, for a restart that resumes session().
   */
  async stop(options: { readonly deregister?: boolean } = {}): Promise<void> {
    this.#queueMode?.stop();
    await this.#engine.stop(options);
  }

  /**
   * Registers afresh (a new Register replacing the current registration), e.g. after a renewed SAS token
   * changed the extra query items, which only a Register carries. Retries as usual when it fails.
   */
  async reregister(): Promise<void> {
    await this.#engine.reregister();
  }

  /** Sends an Update now (what Registration Update Trigger does); a no-op unless registered. */
  async update(): Promise<void> {
    await this.#engine.update();
  }

  /** Queue mode: true while the client sleeps (it does not listen; what is due is held until it wakes). */
  get asleep(): boolean {
    return this.#queueMode?.asleep ?? false;
  }

  /**
   * Queue mode: wakes the client (an Update goes first, then what was held is delivered) and resolves once the Update
   * is answered; awake already, it starts the awake period again. Without queue mode, nothing happens.
   */
  async wake(reason: 'app' | 'notification' | 'send' = 'app'): Promise<void> {
    const q = this.#queueMode;
    if (!q) return;
    if (!q.wake(reason)) {
      q.activity();
      return;
    }
    await this.#engine.update();
  }

  /** Whether the server can be reached, from the registration's events: the outbox holds messages while it cannot. */
  #reachability<K extends keyof ClientEvents>(name: K, event: ClientEvents[K]): void {
    if (name === 'registered' || name === 'updated') {
      this.#setOffline('disabled', false);
      this.#queueMode?.activity();
      if (!this.#queueMode?.asleep) this.#setOffline('asleep', false);
      this.#setOffline('unreachable', false);
    } else if (name === 'registration-failed') {
      this.#setOffline('unreachable', true);
    } else if (name === 'deregistered') {
      this.#setOffline((event as ClientEvents['deregistered']).reason === 'disable' ? 'disabled' : 'unreachable', true);
    }
  }

  /**
   * Send (LwM2M 1.1, POST /dp): the values of `targets` (paths read now, or values captured earlier with their times)
   * as timestamped SenML to this client's server. Rejects with SendPathError (a path the device lacks, cannot read, or
   * /0), SendMutedError (Mute Send /1/x/23), SendNotRegisteredError (not started or stopped; offline, it is held),
   * SendError (registered as LwM2M 1.0, which has no Send) or SendRejectedError (the server's error code, or no
   * answer); nothing goes out but in the last case.
   */
  /** The default offline sink: a started client holds the Send in its outbox, to go out in order once the server is back. */
  async #holdSend(captured: CapturedSend, state: RegistrationState): Promise<void> {
    if (state === 'idle' || state === 'stopped') throw new SendNotRegisteredError(state);
    const item = { kind: 'send', key: 'send', time: captured.capturedAt, payload: captured.payload, contentFormat: captured.format };
    const deliver = sendDeliverer(this.#o.transport, this.#o.server);
    await this.outbox.submit(item, async () => ((await deliver(item)) === 'failed' ? 'timeout' : 'sent'));
  }

  async send(targets: readonly SendTarget[], options?: SendOptions): Promise<SendResult> {
    // Queue mode: a sleeping client would not hear the answer; it wakes (an Update first) to send.
    if (this.#queueMode?.asleep) await this.wake('send');
    return (this.#sender ??= this.#makeSender()).send(targets, options);
  }

  /** Mute Send (/1/x/23) of this server's /1 instance; undefined when absent, which LwM2M 1.1 reads as muted. */
  muteSend(): boolean | undefined {
    return this.#server.muteSend();
  }

  // ---- serving ----

  #isServer(peer: Peer): boolean {
    return peer.port === this.#o.server.port && normalizeAddress(peer.address) === normalizeAddress(this.#o.server.address);
  }

  async #serve(req: IncomingRequest): Promise<OutgoingResponse> {
    const uriPath = `/${req.path.join('/')}`;
    if (this.state === 'stopped') {
      this.emit('request', { method: req.method, path: undefined, uriPath, code: '5.03' });
      return { code: '5.03' };
    }
    if (!this.#isServer(req.peer)) {
      // Only the server this client registered with may manage it; a stranger learns nothing and changes nothing.
      this.emit('request', { method: req.method, path: undefined, uriPath, code: '4.03' });
      return { code: '4.03' };
    }
    if (this.#queueMode) {
      // Asleep without a radio to drop requests: the endpoint must answer something, and the truth is "not now".
      if (this.#queueMode.asleep) {
        this.emit('request', { method: req.method, path: parsePath(req.path.join('/')), uriPath, code: '5.03' });
        return { code: '5.03' };
      }
      this.#queueMode.activity();
    }
    if (req.streamed !== undefined) {
      // The body went block by block to the sink streamWrites named, and its last block was taken.
      this.emit('request', { method: req.method, path: parsePath(req.path.join('/')), uriPath, code: '2.04' });
      return { code: '2.04' };
    }
    const { response, path } = await (this.#router ??= this.#makeRouter()).handle(req);
    this.emit('request', { method: req.method, path, uriPath, code: response.code });
    return response;
  }

  #onRegistryEvent(e: RegistryEvent): void {
    if (e.kind === 'instance-removed') this.#attributes?.clearInstance(e.objectId, e.instanceId);
    this.#observations?.onRegistryEvent(e);
    const meaning = this.#server.onRegistryEvent(e);
    if (meaning === 'periods') this.#observations?.refresh();
    else if (meaning === 'registration') this.#engine.requestUpdate();
  }
}
