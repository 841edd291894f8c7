// Observe-Composite for the client: one scheduler entry per listed path, each under its own attributes; any of them due sends one notification of every path.
import type { CoapEndpoint, NotificationOutcome, Peer } from '../coap/types.js';
import { encodeCompositeRecords } from '../codec/index.js';
import { NotFoundError } from '../errors.js';
import { formatPath, type Lwm2mPath } from '../model.js';
import type {
  NotificationAttributes, NotifyScheduler, Observation, ObservationHandlers,
} from '../notify/index.js';
import { gatedNotify, type Outbox } from '../notify/outbox.js';
import { compositeRecords, type CompositeObserveRegistration } from './composite.js';
import type { ObservedValue } from './observe.js';
import type { ObjectRegistry } from './registry.js';

/**
 * A member's value as a plain observation reads it (a resource's value, so gt/lt/st/edge apply; an instance's records),
 * or null while the path is absent (its appearing is a change).
 */
type MemberValue = ObservedValue | null;

export interface CompositeObservationsOptions {
  readonly registry: ObjectRegistry;
  readonly transport: CoapEndpoint;
  readonly scheduler: NotifyScheduler;
  /** Reads one observed path as a plain observation does; NotFoundError when it is absent. */
  readonly read: (path: Lwm2mPath) => ObservedValue;
  /** The attributes in force for one path of this server (the same source plain observations use). */
  readonly attributes: (observation: { readonly path: Lwm2mPath }) => Readonly<NotificationAttributes>;
  readonly confirmable: boolean;
  /** Where notifications go while the server cannot be reached; none: always sent. */
  readonly outbox?: Outbox;
  readonly equals: (a: MemberValue, b: MemberValue) => boolean;
  readonly onError?: (error: Error) => void;
}

/** One Observe-Composite: its paths, the entries that watch them, and its own Observe sequence. */
interface CompositeObservation {
  readonly peer: Peer;
  readonly token: Uint8Array;
  readonly paths: readonly Lwm2mPath[];
  /** Sorted "/o/i/r" keys of the paths, to find an observation again by what it lists. */
  readonly key: string;
  readonly format: number;
  readonly members: Array<Observation<MemberValue>>;
  sequence: number;
  active: boolean;
  /** The notification being gathered in this tick: members due together send once. */
  flush: { con: boolean; promise: Promise<NotificationOutcome> } | undefined;
  /** The Observe-Composite query's attributes (LwM2M 1.2), over what each path inherits. */
  readonly attributes?: NotificationAttributes;
}

function sameToken(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function samePeer(a: Peer, b: Peer): boolean {
  return a.address === b.address && a.port === b.port;
}

/** True when a change at (o, i, r) — or of instance (o, i) when r is absent — concerns a member on `p`. */
function concerns(p: Lwm2mPath, objectId: number, instanceId: number | undefined, resourceId: number | undefined): boolean {
  if (p.objectId !== objectId) return false;
  if (p.instanceId === undefined || instanceId === undefined) return true;
  if (p.instanceId !== instanceId) return false;
  return p.resourceId === undefined || resourceId === undefined || p.resourceId === resourceId;
}

function covers(outer: Lwm2mPath, inner: Lwm2mPath): boolean {
  return concerns(inner, outer.objectId, outer.instanceId, outer.resourceId)
    && (outer.instanceId === undefined || inner.instanceId !== undefined)
    && (outer.resourceId === undefined || inner.resourceId !== undefined)
    && (outer.resourceInstanceId === undefined || inner.resourceInstanceId === outer.resourceInstanceId);
}

const keyOf = (paths: readonly Lwm2mPath[]): string => paths.map(formatPath).sort().join(',');

/**
 * The Observe-Composite observations of one client. LwM2M applies notification attributes per path: each listed
 * path is a scheduler entry with the attributes in force for it (pmin, pmax, gt/lt/st, edge, epmin/epmax), and when
 * any entry is due the notification carries the current values of every path, with the composite's own Observe
 * sequence number. Entries due in the same tick send one notification.
 */
export class CompositeObservations {
  readonly #o: CompositeObservationsOptions;
  readonly #all = new Set<CompositeObservation>();
  readonly #of = new WeakMap<object, CompositeObservation>();
  readonly #handlers: ObservationHandlers<MemberValue>;

  constructor(options: CompositeObservationsOptions) {
    this.#o = options;
    this.#handlers = {
      read: (member) => this.#read(member.path),
      attributes: (member) => {
        const inherited = options.attributes(member);
        const own = this.#of.get(member)?.attributes;
        return own ? { ...inherited, ...own } : inherited;
      },
      send: (member, _value, _sequence, confirmable) => this.#memberDue(member, confirmable),
      ended: (member, reason, error) => this.#ended(member, reason, error),
      equals: options.equals,
    };
  }

  get size(): number {
    return this.#all.size;
  }

  #read(path: Lwm2mPath): MemberValue {
    try {
      return this.#o.read(path);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  /** Starts an Observe-Composite whose first response is being sent now; returns that response's Observe value. */
  add(r: CompositeObserveRegistration): number {
    const old = this.#find(r.peer, r.token);
    const sequence = old ? (old.sequence + 1) & 0xffffff : 0;
    if (old) this.#stop(old);
    const c: CompositeObservation = {
      peer: { address: r.peer.address, port: r.peer.port }, token: new Uint8Array(r.token), paths: r.paths,
      key: keyOf(r.paths), format: r.contentFormat, members: [], sequence, active: true, flush: undefined,
      ...(r.attributes && Object.keys(r.attributes).length > 0 ? { attributes: r.attributes } : {}),
    };
    this.#all.add(c);
    for (const path of r.paths) {
      const member = this.#o.scheduler.start(
        { peer: c.peer, path, token: c.token, confirmable: this.#o.confirmable, accept: c.format, handlers: this.#handlers },
        this.#read(path),
      );
      this.#of.set(member, c);
      c.members.push(member);
      if (!c.active) break;
      // The first plan was made before the member was known as this composite's: again, with the query's attributes.
      if (c.attributes) this.#o.scheduler.refresh(member);
    }
    return sequence;
  }

  #find(peer: Peer, token: Uint8Array): CompositeObservation | undefined {
    for (const c of this.#all) if (samePeer(c.peer, peer) && sameToken(c.token, token)) return c;
    return undefined;
  }

  /**
   * FETCH with Observe = 1: cancels the observation with this token, or else the peer's observation of exactly
   * these paths (a server whose CoAP stack cannot reuse the token cancels by what it observes). False when none.
   */
  cancel(peer: Peer, token: Uint8Array, paths?: readonly Lwm2mPath[]): boolean {
    let c = this.#find(peer, token);
    if (!c && paths) {
      const key = keyOf(paths);
      for (const x of this.#all) if (samePeer(x.peer, peer) && x.key === key) c = x;
    }
    if (!c) return false;
    this.#stop(c);
    return true;
  }

  #stop(c: CompositeObservation): void {
    if (!c.active) return;
    c.active = false;
    this.#all.delete(c);
    for (const m of c.members) this.#o.scheduler.stop(m);
  }

  /** Ends every composite observation; returns how many. */
  endAll(): number {
    const n = this.#all.size;
    for (const c of [...this.#all]) this.#stop(c);
    return n;
  }

  /** A resource changed (o, i, r), or an instance was added or removed (o, i). */
  changed(objectId: number, instanceId?: number, resourceId?: number): void {
    for (const c of this.#all) {
      for (const m of c.members) if (concerns(m.path, objectId, instanceId, resourceId)) this.#o.scheduler.changed(m);
    }
  }

  /** Attributes changed at `path` (they inherit downwards), or everywhere. */
  refresh(path?: Lwm2mPath): void {
    for (const c of this.#all) {
      for (const m of c.members) if (!path || covers(path, m.path)) this.#o.scheduler.refresh(m);
    }
  }

  /** A member is due: join (or start) this tick's notification of the whole composite. */
  #memberDue(member: Observation<MemberValue>, confirmable: boolean): Promise<NotificationOutcome> {
    const c = this.#of.get(member);
    if (!c || !c.active) return Promise.resolve('sent');
    if (c.flush) {
      c.flush.con ||= confirmable;
      return c.flush.promise;
    }
    const flush = { con: confirmable, promise: Promise.resolve<NotificationOutcome>('sent') };
    flush.promise = Promise.resolve().then(() => {
      c.flush = undefined;
      if (!c.active) return 'sent';
      c.sequence = (c.sequence + 1) & 0xffffff;
      const { records } = compositeRecords(this.#o.registry, c.paths);
      const payload = encodeCompositeRecords(c.format, records, this.#o.registry.lookup);
      // The smallest hqmax of the listed paths bounds what is held of this observation.
      const hqmax = this.#o.outbox ? Math.min(...c.members.map((m) => this.#o.attributes(m).hqmax ?? Infinity)) : Infinity;
      return gatedNotify(this.#o.outbox, this.#o.transport, c.peer, c.token,
        { code: '2.05', contentFormat: c.format, payload, observe: c.sequence }, flush.con, hqmax === Infinity ? undefined : hqmax);
    });
    c.flush = flush;
    return flush.promise;
  }

  #ended(member: Observation<MemberValue>, reason: string, error: unknown): void {
    const c = this.#of.get(member);
    if (!c || !c.active) return;
    this.#stop(c);
    if (reason !== 'error') return;
    // Reading or sending failed: an error notification ends the observation at the server too (RFC 7641 3.2).
    this.#o.onError?.(error instanceof Error ? error : new Error(String(error)));
    this.#o.transport.notify(c.peer, c.token, { code: '5.00' }, false).catch((err: unknown) => {
      this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
    });
  }
}
