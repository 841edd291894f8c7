// Observe for the client: the router's Observe hook wired to the notify module's registry and scheduler, notifications out through the endpoint.
import { hex } from '../coap/bytes.js';
import type { Clock } from '../coap/clock.js';
import { ContentFormat, contentRecords, encodeRecords, type Lwm2mRecord } from '../codec/index.js';
import type { CoapEndpoint, NotificationOutcome, Peer } from '../coap/types.js';
import { NotFoundError } from '../errors.js';
import type { Lwm2mPath, ResourceContent, ResourceValue } from '../model.js';
import {
  attributeSource, NotifyScheduler, ObservationRegistry,
  type AttributeStore, type NotificationAttributes, type NotifyPolicy, type Observation, type ObservationHandlers, type ServerDefaults,
} from '../notify/index.js';
import { gatedNotify, type Outbox } from '../notify/outbox.js';
import type { ObjectInstance } from '../object/instance.js';
import { sameContent, sameValue } from '../values/check.js';
import { CompositeObservations } from './composite-observe.js';
import type { ObjectRegistry, RegistryEvent } from './registry.js';
import type { ObserveHooks, ObserveRegistration } from './router.js';

/** One observation as the device's store keeps it across a restart. */
export interface StoredObservation {
  readonly token: Uint8Array;
  readonly path: Lwm2mPath;
  /** The Observe sequence number last used. */
  readonly sequence: number;
  readonly confirmable: boolean;
  readonly accept?: number;
  /** Attributes the Observe request's query carried (LwM2M 1.2), for this observation only. */
  readonly attributes?: NotificationAttributes;
}

/** What an observation carries: a resource's content, or the records of an instance or object. */
export type ObservedValue = ResourceContent | readonly Lwm2mRecord[];

export interface ClientObservationsOptions {
  readonly registry: ObjectRegistry;
  readonly transport: CoapEndpoint;
  readonly attributes: AttributeStore;
  readonly serverDefaults: () => ServerDefaults;
  /** The scheduler to use; by default the one every client of the process shares (one heap, one timer). */
  readonly scheduler?: NotifyScheduler;
  /** The client's clock when it is not the system's (tests): notifications then run on a private scheduler on it. */
  readonly clock?: Clock;
  readonly policy?: NotifyPolicy;
  /** Send notifications as CON (default false: NON, with a CON at least every 24 h as RFC 7641 wants). */
  readonly confirmable?: boolean;
  readonly onError?: (error: Error) => void;
  /** Told after each notification went out (its sequence number changed): a device with a store saves then. */
  readonly onNotified?: () => void;
  /** Where notifications go while the server cannot be reached (Notification Storing, queue mode); none: always sent. */
  readonly outbox?: Outbox;
}

function samePath(a: Lwm2mPath, b: Lwm2mPath): boolean {
  return a.objectId === b.objectId && a.instanceId === b.instanceId && a.resourceId === b.resourceId
    && a.resourceInstanceId === b.resourceInstanceId;
}

function equalValues(a: ObservedValue, b: ObservedValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    const ra = a as readonly Lwm2mRecord[];
    const rb = b as readonly Lwm2mRecord[];
    return ra.every((r, i) => samePath(r.path, rb[i]!.path) && sameValue(r.value, rb[i]!.value));
  }
  return sameContent(a as ResourceContent, b as ResourceContent);
}

let shared: NotifyScheduler | undefined;
/** The scheduler all clients of a process share unless told otherwise, so a process runs one notify timer. */
export function processScheduler(): NotifyScheduler {
  return (shared ??= new NotifyScheduler());
}

/** The observations one client holds for its server. */
export class ClientObservations {
  readonly observations: ObservationRegistry;
  /** The Observe-Composite observations (FETCH / with Observe), on the same scheduler and attributes. */
  readonly composite: CompositeObservations;
  readonly #o: ClientObservationsOptions;
  readonly #handlers: ObservationHandlers<ObservedValue>;
  /** Attributes of single observations (from their Observe request's query), by token as hex. */
  /** Made at the first such observation: most clients never see one, and a fleet holds thousands of clients. */
  #own: Map<string, NotificationAttributes> | undefined;

  constructor(options: ClientObservationsOptions) {
    this.#o = options;
    this.observations = new ObservationRegistry(
      options.scheduler ?? (options.clock ? new NotifyScheduler(options.clock) : processScheduler()),
    );
    const inherited = attributeSource(options.attributes, options.serverDefaults, options.policy);
    const attributes = (obs: { readonly path: Lwm2mPath; readonly tokenKey?: string }): NotificationAttributes => {
      const a = inherited(obs);
      const own = this.#own !== undefined && this.#own.size > 0 && obs.tokenKey !== undefined ? this.#own.get(obs.tokenKey) : undefined;
      return own ? { ...a, ...own } : a;
    };
    this.#handlers = {
      read: (obs) => this.read(obs.path),
      attributes,
      send: (obs, value, sequence, confirmable) => this.#send(obs, value, sequence, confirmable),
      ended: (obs, reason, error) => this.#ended(obs, reason, error),
      equals: equalValues,
    };
    this.composite = new CompositeObservations({
      registry: options.registry,
      transport: options.transport,
      scheduler: this.observations.scheduler,
      read: (path) => this.read(path),
      attributes,
      confirmable: options.confirmable ?? false,
      equals: (a, b) => (a === null || b === null ? a === b : equalValues(a, b)),
      ...(options.outbox ? { outbox: options.outbox } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** The current value at an observed path; NotFoundError when it is gone. */
  read(path: Lwm2mPath): ObservedValue {
    const registry = this.#o.registry;
    if (path.instanceId === undefined) {
      if (!registry.object(path.objectId)) throw new NotFoundError('no such object', path);
      return registry.instances(path.objectId).flatMap((inst) => this.#instanceRecords(inst));
    }
    const inst = registry.instance(path.objectId, path.instanceId);
    if (!inst) throw new NotFoundError('no such object instance', path);
    if (path.resourceId === undefined) return this.#instanceRecords(inst);
    if (path.resourceInstanceId !== undefined) return inst.readResourceInstance(path.resourceId, path.resourceInstanceId);
    return inst.readResource(path.resourceId);
  }

  #instanceRecords(inst: ObjectInstance): Lwm2mRecord[] {
    const out: Lwm2mRecord[] = [];
    for (const [rid, content] of inst.readAll()) contentRecords(inst.definition.id, inst.instanceId, rid, content, out);
    return out;
  }

  #records(path: Lwm2mPath, value: ObservedValue): readonly Lwm2mRecord[] {
    if (Array.isArray(value)) return value as readonly Lwm2mRecord[];
    const inst = this.#o.registry.instance(path.objectId, path.instanceId!);
    if (!inst) throw new NotFoundError('no such object instance', path);
    if (path.resourceInstanceId !== undefined) return [{ path, value: value as ResourceValue }];
    return contentRecords(inst.definition.id, inst.instanceId, path.resourceId!, value as ResourceContent);
  }

  async #send(obs: Observation<ObservedValue>, value: ObservedValue, sequence: number, confirmable: boolean): Promise<NotificationOutcome> {
    const format = obs.accept ?? ContentFormat.TEXT;
    const payload = encodeRecords(format, obs.path, this.#records(obs.path, value), this.#o.registry.lookup);
    const hqmax = this.#o.outbox ? this.#handlers.attributes(obs).hqmax : undefined;
    const sent = gatedNotify(this.#o.outbox, this.#o.transport, obs.peer, obs.token,
      { code: '2.05', contentFormat: format, payload, observe: sequence }, confirmable, hqmax);
    this.#o.onNotified?.();
    return sent;
  }

  #ended(obs: Observation<ObservedValue>, reason: string, error: unknown): void {
    this.#own?.delete(obs.tokenKey);
    if (reason !== 'error') return;
    // The observed thing is gone (or could not be encoded): an error notification ends it at the server too (RFC 7641 3.2).
    const code = error instanceof NotFoundError ? '4.04' : '5.00';
    this.#o.transport.notify(obs.peer, obs.token, { code }, false).catch((err: unknown) => {
      this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** The router's Observe hook. */
  hooks(): ObserveHooks {
    return {
      onObserve: (r: ObserveRegistration) => {
        const first = this.read(r.path);
        // One token, one observation (RFC 7641 3.4): a plain Observe replaces a composite one of that token.
        this.composite.cancel(r.peer, r.token);
        const key = hex(r.token);
        if (r.attributes && Object.keys(r.attributes).length > 0) (this.#own ??= new Map()).set(key, r.attributes);
        else this.#own?.delete(key);
        const obs = this.observations.add(
          { peer: r.peer, token: r.token, path: r.path, confirmable: this.#o.confirmable ?? false, accept: r.contentFormat },
          this.#handlers, first,
        );
        return obs.sequence;
      },
      onCancelObserve: (peer: Peer, token: Uint8Array) => {
        this.observations.cancel(peer, token);
        this.#own?.delete(hex(token));
      },
      onObserveComposite: (r) => {
        this.observations.cancel(r.peer, r.token);
        return this.composite.add(r);
      },
      onCancelObserveComposite: (peer, token, paths) => {
        this.composite.cancel(peer, token, paths);
      },
    };
  }

  /** Routes a registry event to the observations it concerns. */
  onRegistryEvent(e: RegistryEvent): void {
    if (e.kind === 'resource-changed') {
      this.observations.changed(e.objectId, e.instanceId, e.resourceId);
      if (this.composite.size > 0) this.composite.changed(e.objectId, e.instanceId, e.resourceId);
    } else if (e.kind === 'instance-added' || e.kind === 'instance-removed') {
      this.observations.changed(e.objectId, e.instanceId);
      if (this.composite.size > 0) this.composite.changed(e.objectId, e.instanceId);
    }
  }

  /** Attributes changed at `path` (Write-Attributes), or the server's default periods changed (no path). */
  refresh(path?: Lwm2mPath): void {
    this.observations.refresh(path);
    this.composite.refresh(path);
  }

  /** An RST answered a NON notification: the observer cancelled. */
  reset(peer: Peer, token: Uint8Array): void {
    this.observations.cancel(peer, token);
    this.composite.cancel(peer, token);
    this.#own?.delete(hex(token));
  }

  /** The observations held for `peer`, as a store keeps them (token, path, format, the last sequence number). */
  snapshot(peer: Peer): StoredObservation[] {
    return this.observations.forPeer(peer).map((o) => {
      const own = this.#own?.get(o.tokenKey);
      return {
        token: new Uint8Array(o.token), path: { ...o.path }, sequence: o.sequence, confirmable: o.confirmable,
        ...(o.accept !== undefined ? { accept: o.accept } : {}),
        ...(own ? { attributes: { ...own } } : {}),
      };
    });
  }

  /**
   * Takes up observations kept from before a restart: the server still holds them, so they notify on changes
   * with their old tokens. Sequence numbers continue past the stored ones by `sequenceGap` (default 1). An
   * observation whose path is gone is dropped; returns how many were restored.
   */
  restore(peer: Peer, stored: readonly StoredObservation[], sequenceGap = 1): number {
    let restored = 0;
    for (const s of stored) {
      let first: ObservedValue;
      try {
        first = this.read(s.path);
      } catch {
        continue;
      }
      if (s.attributes) (this.#own ??= new Map()).set(hex(s.token), s.attributes);
      const obs = this.observations.add({
        peer, token: s.token, path: s.path, confirmable: s.confirmable,
        sequence: (s.sequence + sequenceGap) & 0xffffff,
        ...(s.accept !== undefined ? { accept: s.accept } : {}),
      }, this.#handlers, first);
      if (obs.active) restored++;
    }
    return restored;
  }

  /** Ends every observation (De-register, re-Register, stop). */
  endAll(): number {
    this.#own?.clear();
    return this.observations.cancelAll() + this.composite.endAll();
  }
}
