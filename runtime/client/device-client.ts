// DeviceClient: a device with any number of servers — factory or stored /0 and /1, bootstrap, one Lwm2mClient per server, the store.
import { systemClock, type Clock } from '../coap/clock.js';
import type { ObjectDefinition } from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import type { StateStore } from '../store/types.js';
import { PersistentState } from '../store/state.js';
import { TypedEmitter } from '../emitter.js';
import { BootstrapAccountTimer } from './bootstrap-account.js';
import { finishProblem, instanceValues, serverInstanceFrom } from './bootstrap-session.js';
import { BootstrapError, runBootstrap, type BootstrapStep } from './bootstrap.js';
import { Lwm2mClient, type Lwm2mClientOptions } from './client.js';
import { openServerTransport, type ServerTransport, type ServerTransportOptions } from './connect.js';
import {
  deviceSections, loadInstances, loadSessions, restoreWritableValues, storeInstances, storeSessions, storeWritableValues,
  type KeptSession,
} from './device-state.js';
import type { ClientEvents } from './events.js';
import { lwm2mRetrySchedule, type RetryOptions } from './registration.js';
import { SendError, SendNotRegisteredError, type SendOptions, type SendResult, type SendTarget } from './send.js';
import { ClientUsageError, ObjectRegistry, type ObjectOptions } from './registry.js';
import { SECURITY_MODEL } from './security-model.js';
import { SECURITY_OBJECT, SecurityInstance, type SecurityAccount, type SecurityAccountInput } from './security-object.js';
import { SERVER_OBJECT, ServerInstance, ServerResource, type ServerSettings } from './server-object.js';

/** Client options a DeviceClient passes to each server's client. */
export type DeviceServerOptions = Omit<Lwm2mClientOptions,
  'endpointName' | 'transport' | 'server' | 'registry' | 'shortServerId' | 'resume' | 'onSessionChange'
  | 'onRegistrationExhausted' | 'onBootstrapRequest' | keyof ServerSettings>;

export interface DeviceClientOptions {
  readonly endpointName: string;
  /** Factory bootstrap: the /0 accounts and /1 instances the device starts with when its store holds none. */
  readonly factory?: { readonly security?: readonly SecurityAccountInput[]; readonly servers?: readonly ServerSettings[] };
  /** Where /0, /1, the sessions and (opted in) the app's values survive restarts; none by default. */
  readonly store?: StateStore;
  /** Object ids whose writable values are kept in the store (the app opts in); none by default. */
  readonly persistValues?: readonly number[];
  /** Transport options for every server (CoAP timings, handshake timeout); credentials come from /0. */
  readonly transport?: Omit<ServerTransportOptions, 'pskIdentity' | 'pskKey' | 'localPort'>;
  /** Options of every server's client (format, notify policy, ...). */
  readonly client?: DeviceServerOptions;
  /** Registration retries; by default each server's /1/x/17..20 (LwM2M 1.1), then bootstrap. */
  readonly retry?: RetryOptions;
  readonly bootstrap?: {
    /** Delay after the n-th failed bootstrap attempt, or undefined to give up. */
    readonly schedule?: (failures: number) => number | undefined;
    /** How long the client waits for the bootstrap server's next operation (default 247 s). */
    readonly idleTimeoutMs?: number;
    /** `pct=` of the Bootstrap-Request. */
    readonly preferredFormat?: number;
  };
  readonly clock?: Clock;
  /** Milliseconds since the epoch, for deadlines kept in the store across restarts (the Bootstrap-Server Account Timeout); Date.now by default. */
  readonly wallClock?: () => number;
}

/** Something the device took back from its store at start. */
export interface RestoredItem {
  readonly item: 'security' | 'server' | 'registration' | 'observation' | 'attributes' | 'values';
  /** A path or a location; never a value. */
  readonly detail: string;
}

export interface DeviceEvents {
  bootstrap: BootstrapStep;
  restored: RestoredItem;
  /** The store could not be read: the device reports it and starts from its factory configuration. */
  'state-problem': { readonly message: string; readonly quarantinedTo?: string };
  /** A server's client was made (before its start): subscribe to its events here. */
  server: { readonly shortServerId: number; readonly uri: string; readonly client: Lwm2mClient };
  registered: { readonly shortServerId: number; readonly location: readonly string[] };
  /** Observations of a stream server (coap+tcp, coaps+tcp) that ended with their connection (a restart, or a connection lost): the device registers afresh. */
  'observations-ended': { readonly shortServerId: number; readonly paths: readonly string[]; readonly reason: string };
  error: Error;
}

interface Connection {
  readonly client: Lwm2mClient;
  readonly transport: ServerTransport;
  readonly account: SecurityAccount;
}

/**
 * The client side of a whole device: one registry, one Lwm2mClient per LwM2M Server account (/0 with its /1), each
 * over the transport and credentials its /0 instance names. Bootstraps when it has no usable server account
 * (client-initiated), when a server executes Bootstrap-Request Trigger, and when registration retries run out.
 */
export class DeviceClient extends TypedEmitter<DeviceEvents> {
  readonly registry = new ObjectRegistry();
  readonly #o: DeviceClientOptions;
  readonly #clock: Clock;
  readonly #connections = new Map<number, Connection>();
  #state: PersistentState | undefined;
  #opening: Promise<PersistentState | undefined> | undefined;
  #sessions = new Map<number, KeptSession>();
  #stopped = false;
  #bootstrapping: Promise<void> | undefined;
  readonly #accountTimer: BootstrapAccountTimer;
  /** Set once start() has restored the app's values: saving before that would overwrite them with the app's defaults. */
  #valuesRestored = false;

  constructor(options: DeviceClientOptions) {
    super();
    if (!options.endpointName) throw new ClientUsageError('endpointName is required');
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#accountTimer = new BootstrapAccountTimer({
      registry: this.registry, clock: this.#clock, wallClock: options.wallClock ?? Date.now,
      purged: (instanceId, seconds) => {
        this.emit('bootstrap', { step: 'account-removed', path: `/0/${instanceId}`, seconds });
        void this.#saveConfiguration();
      },
      deadline: (purgeAt) => this.#saveAccountDeadline(purgeAt),
    });
    this.registry.addObject(SECURITY_MODEL);
    this.registry.onEvent((e) => {
      if (e.kind === 'object-added' || !this.#valuesRestored || !this.#o.persistValues?.includes(e.objectId)) return;
      // A server's Write, Create or Delete; the app's own changes (and its setup before start) are not saved.
      if (e.kind !== 'resource-changed' || e.source === 'server') void this.#saveValues();
    });
  }

  addObject(definition: ObjectDefinition, options: ObjectOptions = {}): this {
    this.registry.addObject(definition, options);
    return this;
  }

  addInstance(instance: ObjectInstance): this {
    this.registry.addInstance(instance);
    return this;
  }

  /** Each server's client, by Short Server ID. */
  clients(): ReadonlyMap<number, Lwm2mClient> {
    return new Map([...this.#connections].map(([ssid, c]) => [ssid, c.client]));
  }

  /**
   * Send (POST /dp) to one server. A Send is one request to one server (the spec leaves the choice to the client):
   * `shortServerId`'s, else the first server by Short Server ID that is registered and not muted (Mute Send /1/x/23
   * false), else the first not muted (which then rejects as not registered, or keeps the Send in its offline sink),
   * else the first (which rejects as muted). See Lwm2mClient.send for the errors.
   */
  async send(targets: readonly SendTarget[], options: SendOptions & { readonly shortServerId?: number } = {}): Promise<SendResult & { readonly shortServerId: number }> {
    const { shortServerId, ...sendOptions } = options;
    const servers = [...this.#connections].sort((a, b) => a[0] - b[0]).map(([ssid, c]) => ({ ssid, client: c.client }));
    let chosen: { ssid: number; client: Lwm2mClient } | undefined;
    if (shortServerId !== undefined) {
      chosen = servers.find((s) => s.ssid === shortServerId);
      if (!chosen) throw new SendError(`no LwM2M Server with Short Server ID ${shortServerId} (servers: ${servers.map((s) => s.ssid).join(', ') || 'none'})`);
    } else {
      const open = servers.filter((s) => s.client.muteSend() === false);
      chosen = open.find((s) => s.client.state === 'registered') ?? open[0] ?? servers[0];
      if (!chosen) throw new SendNotRegisteredError('idle');
    }
    return { ...await chosen.client.send(targets, sendOptions), shortServerId: chosen.ssid };
  }

  /** The accounts /0 holds now (keys included: for the app, never for a log). */
  accounts(): SecurityAccount[] {
    return this.registry.instances(SECURITY_OBJECT).filter((i): i is SecurityInstance => i instanceof SecurityInstance).map((i) => i.account());
  }

  /**
   * Restores /0, /1 and the sessions from the store (else takes the factory configuration), bootstraps when no
   * server account is usable, then registers with every server (an Update to a stored registration). Resolves once
   * every server's first Register or Update has finished.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    const restored = await this.#restore();
    if (!restored) this.#factory();
    this.#valuesRestored = true;
    if (finishProblem(this.#security(), this.registry.instances(SERVER_OBJECT)) !== undefined) {
      if (!this.accounts().some((a) => a.bootstrap)) throw new ClientUsageError('no usable LwM2M Server account and no Bootstrap-Server account');
      await this.#bootstrap(true);
      return;
    }
    await this.#connectAll();
  }

  /**
   * Closes every server's transport and flushes the store. A device with a store leaves its registrations at the
   * servers (its restart resumes them with an Update, and their observations go on); without one, or with
   * `deregister: true`, it de-registers first.
   */
  async stop(options: { readonly deregister?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#accountTimer.stop();
    await this.#disconnectAll(false, options.deregister ?? !this.#o.store);
    await this.#state?.flush().catch(() => undefined);
  }

  /** Bootstraps now (what Bootstrap-Request Trigger does): leaves every server, bootstraps, registers again. */
  async requestBootstrap(): Promise<void> {
    await this.#bootstrap(false);
  }

  #security(): SecurityInstance[] {
    return this.registry.instances(SECURITY_OBJECT).filter((i): i is SecurityInstance => i instanceof SecurityInstance);
  }

  /**
   * The device's PersistentState on `store` (opened once; start() opens it when the app did not), so the app can
   * keep its own sections in the same document, e.g. the firmware state: `attachFirmwareUpdate(fw, { persist:
   * (await device.openState())!.section('firmware') })`. Undefined without a store. An unreadable document is
   * reported as 'state-problem' and the state starts empty.
   */
  openState(): Promise<PersistentState | undefined> {
    const store = this.#o.store;
    if (!store) return Promise.resolve(undefined);
    return (this.#opening ??= PersistentState.open(store).then((opened) => {
      this.#state = opened.state;
      if (opened.problem) {
        this.emit('state-problem', { message: opened.problem.message, ...(opened.quarantinedTo ? { quarantinedTo: opened.quarantinedTo } : {}) });
      }
      return opened.state;
    }));
  }

  async #restore(): Promise<boolean> {
    const state = await this.openState();
    if (!state || !this.#o.store) return false;
    const sections = deviceSections(state);
    const security = loadInstances(sections.security.load());
    const servers = loadInstances(sections.servers.load());
    if (!security || !servers) return false;
    try {
      this.#replaceConfiguration(
        security.map((s) => { const i = new SecurityInstance(s.instanceId); i.restore(s.values); return i; }),
        servers.map((s) => serverInstanceFrom(s.instanceId, s.values)),
      );
    } catch (err) {
      this.emit('state-problem', { message: `${this.#o.store.where}: the stored /0 or /1 is not valid (${(err as Error).message}); using the factory configuration` });
      return false;
    }
    for (const s of security) this.emit('restored', { item: 'security', detail: `/0/${s.instanceId}` });
    for (const s of servers) this.emit('restored', { item: 'server', detail: `/1/${s.instanceId}` });
    this.#sessions = loadSessions(sections.sessions.load());
    this.#accountTimer.resume(sections.bootstrap.load()?.accountPurgeAt);
    const values = await restoreWritableValues(sections.values.load(), (o, i) => this.registry.instance(o, i), (this.#o.persistValues ?? []).map((objectId) => {
      const factory = this.registry.object(objectId)?.create;
      return {
        objectId,
        instances: () => this.registry.instances(objectId),
        // Only an object the server may Create and Delete instances of gets its stored set of instances back.
        ...(factory ? {
          create: (instanceId: number) => { const inst = factory(instanceId, new Map()); this.registry.addInstance(inst); return inst; },
          remove: (instanceId: number) => { this.registry.removeInstance(objectId, instanceId); },
        } : {}),
      };
    }));
    for (const path of values.restored) this.emit('restored', { item: 'values', detail: path });
    for (const problem of values.problems) this.emit('state-problem', { message: `${this.#o.store.where}: stored values of ${problem}; the instance keeps the app's` });
    return true;
  }

  #factory(): void {
    const f = this.#o.factory ?? {};
    this.#replaceConfiguration(
      (f.security ?? []).map((s, i) => new SecurityInstance(i, s)),
      this.registry.instances(SERVER_OBJECT).length > 0 && !f.servers ? this.registry.instances(SERVER_OBJECT) : (f.servers ?? []).map((s, i) => new ServerInstance(i, s)),
    );
  }

  #replaceConfiguration(security: readonly SecurityInstance[], servers: readonly ObjectInstance[]): void {
    for (const objectId of [SECURITY_OBJECT, SERVER_OBJECT]) {
      for (const inst of this.registry.instances(objectId)) if (!servers.includes(inst)) this.registry.removeInstance(objectId, inst.instanceId);
    }
    for (const inst of [...security, ...servers]) if (!this.registry.instance(inst.definition.id, inst.instanceId)) this.registry.addInstance(inst);
  }

  async #saveConfiguration(): Promise<void> {
    if (!this.#state) return;
    const s = deviceSections(this.#state);
    await Promise.all([
      s.security.save(storeInstances(this.#security().map((i) => ({ instanceId: i.instanceId, values: i.values() })))),
      s.servers.save(storeInstances(this.registry.instances(SERVER_OBJECT).map((i) => ({ instanceId: i.instanceId, values: instanceValues(i) })))),
    ]).catch((err: unknown) => this.emit('error', err as Error));
  }

  #saveSessions(): void {
    if (!this.#state) return;
    for (const [ssid, c] of this.#connections) this.#sessions.set(ssid, { ...c.client.session(), localPort: c.transport.endpoint.address().port });
    deviceSections(this.#state).sessions.save(storeSessions(this.#sessions)).catch((err: unknown) => this.emit('error', err as Error));
  }

  async #saveValues(): Promise<void> {
    if (!this.#state || !this.#o.persistValues) return;
    const instances = this.#o.persistValues.flatMap((o) => this.registry.instances(o));
    await deviceSections(this.#state).values.save(storeWritableValues(instances)).catch((err: unknown) => this.emit('error', err as Error));
  }

  async #bootstrap(atStart: boolean): Promise<void> {
    if (this.#bootstrapping) return this.#bootstrapping;
    // Checked before leaving the servers: a device whose bootstrap account was purged (/0/x/12) stays registered.
    const account = this.accounts().find((a) => a.bootstrap);
    if (!account) throw new BootstrapError('no Bootstrap-Server account in /0 (none was configured, or its Account Timeout purged it)');
    const run = (async () => {
      await this.#disconnectAll(true);
      const b = this.#o.bootstrap ?? {};
      const session = await runBootstrap({
        endpointName: this.#o.endpointName, account, registry: this.registry, clock: this.#clock, holdOff: atStart,
        ...(this.#o.transport ? { transport: this.#o.transport } : {}),
        ...(b.preferredFormat !== undefined ? { preferredFormat: b.preferredFormat } : {}),
        ...(b.schedule ? { schedule: b.schedule } : {}),
        ...(b.idleTimeoutMs !== undefined ? { idleTimeoutMs: b.idleTimeoutMs } : {}),
        ...(this.#o.client?.lwm2mVersion ? { lwm2mVersion: this.#o.client.lwm2mVersion } : {}),
        onStep: (step) => this.emit('bootstrap', step),
        stopped: () => this.#stopped,
      });
      session.commit();
      this.#sessions.clear();
      await this.#saveConfiguration();
      this.#saveSessions();
      this.#accountTimer.arm();
    })();
    this.#bootstrapping = run;
    try {
      await run;
    } finally {
      this.#bootstrapping = undefined;
    }
    if (!this.#stopped) await this.#connectAll();
  }

  #saveAccountDeadline(purgeAt: number | undefined): void {
    if (!this.#state) return;
    const section = deviceSections(this.#state).bootstrap;
    if (purgeAt === undefined && section.load() === undefined) return;
    (purgeAt === undefined ? section.delete() : section.save({ accountPurgeAt: purgeAt })).catch((err: unknown) => this.emit('error', err as Error));
  }

  async #connectAll(): Promise<void> {
    const servers = this.registry.instances(SERVER_OBJECT);
    const starts: Promise<void>[] = [];
    for (const account of this.accounts()) {
      if (account.bootstrap || account.shortServerId === undefined || this.#connections.has(account.shortServerId)) continue;
      const server = servers.find((s) => s.hasResource(ServerResource.SHORT_SERVER_ID) && s.readResource(ServerResource.SHORT_SERVER_ID) === account.shortServerId);
      if (!server) continue;
      starts.push(this.#connect(account, server).catch((err: unknown) => this.emit('error', err as Error)));
    }
    await Promise.all(starts);
  }

  async #connect(account: SecurityAccount, server: ObjectInstance): Promise<void> {
    const ssid = account.shortServerId!;
    const kept = this.#sessions.get(ssid);
    let client: Lwm2mClient | undefined;
    const base: ServerTransportOptions = {
      ...this.#o.transport,
      ...(account.pskIdentity !== undefined && account.pskKey !== undefined ? { pskIdentity: account.pskIdentity, pskKey: account.pskKey } : {}),
      coap: { ...this.#o.transport?.coap, onNotificationReset: (peer, token) => client?.notificationReset(peer, token) },
    };
    let transport: ServerTransport;
    try {
      // The port of before the restart, so the server's routes to the device (and its observations) still reach it.
      transport = await openServerTransport(account.uri, kept?.localPort ? { ...base, localPort: kept.localPort } : base);
    } catch (err) {
      if (!kept?.localPort) throw err;
      transport = await openServerTransport(account.uri, base);
    }
    const num = (id: number): number | undefined => {
      const v = server.hasResource(id) ? server.readResource(id) : undefined;
      return typeof v === 'number' ? v : undefined;
    };
    const bootstrapOnFailure = !server.hasResource(ServerResource.BOOTSTRAP_ON_REGISTRATION_FAILURE)
      || server.readResource(ServerResource.BOOTSTRAP_ON_REGISTRATION_FAILURE) !== false;
    const schedule = lwm2mRetrySchedule({
      ...(num(ServerResource.COMMUNICATION_RETRY_COUNT) !== undefined ? { retryCount: num(ServerResource.COMMUNICATION_RETRY_COUNT)! } : {}),
      ...(num(ServerResource.COMMUNICATION_RETRY_TIMER) !== undefined ? { retryTimer: num(ServerResource.COMMUNICATION_RETRY_TIMER)! } : {}),
      ...(num(ServerResource.COMMUNICATION_SEQUENCE_DELAY_TIMER) !== undefined ? { sequenceDelay: num(ServerResource.COMMUNICATION_SEQUENCE_DELAY_TIMER)! } : {}),
      ...(num(ServerResource.COMMUNICATION_SEQUENCE_RETRY_COUNT) !== undefined ? { sequenceRetryCount: num(ServerResource.COMMUNICATION_SEQUENCE_RETRY_COUNT)! } : {}),
    });
    const hasBootstrap = this.accounts().some((a) => a.bootstrap);
    const resume = this.#resumable(kept, transport);
    client = new Lwm2mClient({
      ...this.#o.client,
      endpointName: this.#o.endpointName,
      transport: transport.endpoint,
      server: transport.server,
      registry: this.registry,
      shortServerId: ssid,
      retry: this.#o.retry ?? { schedule },
      ...(this.#o.clock ? { clock: this.#o.clock } : {}),
      ...(resume ? { resume } : {}),
      onSessionChange: () => this.#saveSessions(),
      ...(hasBootstrap ? { onBootstrapRequest: () => void this.#bootstrap(false).catch((err: unknown) => this.emit('error', err as Error)) } : {}),
      ...(hasBootstrap && bootstrapOnFailure ? { onRegistrationExhausted: () => void this.#bootstrap(false).catch((err: unknown) => this.emit('error', err as Error)) } : {}),
    });
    client.on('registered', (e) => this.emit('registered', { shortServerId: ssid, location: e.location }));
    client.on('error', (e) => this.emit('error', e));
    const c = client;
    if (transport.binding === 'T') {
      transport.recovery?.onConnectionLost(() => {
        if (this.#connections.get(ssid)?.client === c) void this.#streamLost(ssid, c, transport.scheme);
      });
    }
    this.#connections.set(ssid, { client, transport, account });
    this.emit('server', { shortServerId: ssid, uri: account.uri, client });
    if (kept?.registration && resume && resume.observations.length < kept.observations.length) {
      this.emit('observations-ended', {
        shortServerId: ssid, paths: kept.observations.map((o) => pathText(o.path)),
        reason: streamObservationsEnded(transport.scheme),
      });
    }
    if (resume?.registration) this.emit('restored', { item: 'registration', detail: `/${resume.registration.location.join('/')} at ${account.uri}` });
    if (resume) {
      for (const o of resume.observations) this.emit('restored', { item: 'observation', detail: pathText(o.path) });
      for (const a of resume.attributes) this.emit('restored', { item: 'attributes', detail: pathText(a.path) });
    }
    await client.start();
  }

  /**
   * What of a kept session the new connection can resume. Over UDP and DTLS all of it: the registration (an Update to
   * its location) and the observations, notified to the same server address with their tokens. Over coap+tcp and
   * coaps+tcp an observation lives as long as its connection (RFC 8323 §7.3: the CoAP server, here the device, removes
   * its observers when the connection closes), so a restart cannot resume one; when there were any, the device
   * registers afresh instead of updating, the Register telling the server that its observations are gone.
   */
  #resumable(kept: KeptSession | undefined, transport: ServerTransport): KeptSession | undefined {
    if (!kept || transport.binding !== 'T' || kept.observations.length === 0) return kept;
    const { registration: _ended, ...rest } = kept;
    return { ...rest, observations: [] };
  }

  /**
   * A coap+tcp or coaps+tcp connection closed under a running client: its observations ended with it (RFC 8323 §7.3),
   * so they are dropped now (no notification with their tokens on the next connection) and the device registers
   * afresh to tell the server; with none it sends an Update, which reconnects and finds out whether the server kept
   * the registration (a restarted one answers 4.04, and the client registers).
   */
  async #streamLost(ssid: number, client: Lwm2mClient, scheme: string): Promise<void> {
    const paths = client.session().observations.map((o) => pathText(o.path));
    try {
      if (client.observations.endAll() > 0) {
        this.#saveSessions();
        this.emit('observations-ended', {
          shortServerId: ssid, paths,
          reason: streamObservationsEnded(scheme),
        });
        await client.reregister();
      } else {
        await client.update();
      }
    } catch (err) {
      this.emit('error', err as Error);
    }
  }

  async #disconnectAll(forBootstrap: boolean, deregister = true): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map(async (c) => {
      if (!forBootstrap && !deregister) {
        // A device that stops keeps its sessions (a restart resumes them); a bootstrap or a De-register ends them.
        this.#sessions.set(c.account.shortServerId!, { ...c.client.session(), localPort: c.transport.endpoint.address().port });
      } else {
        this.#sessions.delete(c.account.shortServerId!);
      }
      await c.client.stop({ deregister }).catch(() => undefined);
      c.client.dispose();
      await c.transport.endpoint.close().catch(() => undefined);
    }));
    if (!forBootstrap) this.#saveStoppedSessions(all.length > 0);
  }

  #saveStoppedSessions(any: boolean): void {
    if (!this.#state || !any) return;
    deviceSections(this.#state).sessions.save(storeSessions(this.#sessions)).catch((err: unknown) => this.emit('error', err as Error));
  }
}

function streamObservationsEnded(scheme: string): string {
  return `${scheme}:// observations end with their connection (RFC 8323 §7.3); registering afresh so the server observes again`;
}

function pathText(p: { objectId: number; instanceId?: number; resourceId?: number; resourceInstanceId?: number }): string {
  return `/${[p.objectId, p.instanceId, p.resourceId, p.resourceInstanceId].filter((x) => x !== undefined).join('/')}`;
}

export type { ClientEvents };
