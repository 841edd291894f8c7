// The observations of one LwM2M client: found by (peer, token) for cancels and by path for change routing.
import type { Lwm2mPath } from '../model.js';
import type { Peer } from '../coap/types.js';
import { tokenHash, type EndReason, type NotifyScheduler, type Observation, type ObservationHandlers } from './scheduler.js';

/** An Observe registration (GET with Observe = 0) as the client hands it over. */
export interface ObserveRequest {
  readonly peer: Peer;
  readonly token: Uint8Array;
  /** Object, instance, resource or resource-instance path. */
  readonly path: Lwm2mPath;
  /** Send notifications as CON (true) or NON. */
  readonly confirmable: boolean;
  /** The request's Accept, kept for encoding notifications. */
  readonly accept?: number;
  /** The first sequence number, for an observation restored after a restart (default 0). */
  readonly sequence?: number;
}

type AnyObservation = Observation<unknown>;

/** The observations on one path key: a single one, or a list, since most paths have exactly one. */
type Bucket = AnyObservation | AnyObservation[];

interface PeerBucket {
  /** The one Peer object every observation of this peer shares. */
  readonly peer: Peer;
  /** By tokenHash; a bucket holds more than one observation only when two tokens share a hash. */
  readonly byToken: Map<number, Bucket>;
  count: number;
}

function peerKey(p: Peer): string {
  return `${p.address}|${p.port}`;
}


/**
 * Map keys for (o, i) and (o, i, r): a 30-bit hash, which V8 keeps as a small integer inside the map
 * (an exact 48-bit key would be a separate 16-byte heap number per observation). Different paths may
 * share a key, so whoever reads a bucket checks each observation's path.
 */
const instanceKey = (o: number, i: number): number => (Math.imul(o, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) & 0x3fffffff;
const resourceKey = (o: number, i: number, r: number): number =>
  (Math.imul(o, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b) ^ Math.imul(r + 1, 0xc2b2ae35)) & 0x3fffffff;

function each(b: Bucket | undefined, fn: (o: AnyObservation) => void): void {
  if (b === undefined) return;
  if (Array.isArray(b)) for (const x of b.slice()) fn(x);
  else fn(b);
}

function put(map: Map<number, Bucket>, key: number, o: AnyObservation): void {
  const b = map.get(key);
  if (b === undefined) map.set(key, o);
  else if (Array.isArray(b)) b.push(o);
  else map.set(key, [b, o]);
}

function take(map: Map<number, Bucket>, key: number, o: AnyObservation): void {
  const b = map.get(key);
  if (b === o) map.delete(key);
  else if (Array.isArray(b)) {
    const i = b.indexOf(o);
    if (i >= 0) b.splice(i, 1);
    if (b.length === 1) map.set(key, b[0]!);
  }
}

/** True when `inner` is `outer` or below it. */
function covers(outer: Lwm2mPath, inner: Lwm2mPath): boolean {
  if (outer.objectId !== inner.objectId) return false;
  if (outer.instanceId === undefined) return true;
  if (outer.instanceId !== inner.instanceId) return false;
  if (outer.resourceId === undefined) return true;
  if (outer.resourceId !== inner.resourceId) return false;
  return outer.resourceInstanceId === undefined || outer.resourceInstanceId === inner.resourceInstanceId;
}

function samePath(a: Lwm2mPath, b: Lwm2mPath): boolean {
  return a.objectId === b.objectId && a.instanceId === b.instanceId && a.resourceId === b.resourceId && a.resourceInstanceId === b.resourceInstanceId;
}

/**
 * The observations of one client across its servers. Adding and cancelling are O(1) by token; a
 * change is routed by walking the path tree (object → instance → resource), so it touches only the
 * observations whose path covers the change, never the others.
 */
export class ObservationRegistry {
  readonly scheduler: NotifyScheduler;
  readonly #peers = new Map<string, PeerBucket>();
  /** Observations on /o. */
  readonly #byObject = new Map<number, Bucket>();
  /** Observations on /o/i. */
  readonly #byInstance = new Map<number, Bucket>();
  /** Observations on /o/i/r and on /o/i/r/ri: a resource change concerns both, and a resource-instance observation checks its own value. */
  readonly #byResource = new Map<number, Bucket>();
  #size = 0;
  /**
   * The client's handlers wrapped so that an observation the scheduler ends leaves this registry too;
   * one wrapper per handlers object (per server), not a back-pointer in each of 100 000 observations.
   */
  readonly #wrapped = new WeakMap<object, ObservationHandlers<unknown>>();

  constructor(scheduler: NotifyScheduler) {
    this.scheduler = scheduler;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Registers an observation whose first response is being sent now with `firstValue`; put the returned
   * observation's `sequence` in that response's Observe option. A registration with a token this peer
   * already observes with replaces the old one, continuing its sequence numbers.
   */
  add<V>(request: ObserveRequest, handlers: ObservationHandlers<V>, firstValue: V): Observation<V> {
    const pk = peerKey(request.peer);
    const old = this.get(request.peer, request.token);
    let sequence = request.sequence ?? 0;
    if (old) {
      sequence = (old.sequence + 1) & 0xffffff;
      this.scheduler.stop(old);
      this.#drop(old);
    }
    let bucket = this.#peers.get(pk);
    if (!bucket) {
      bucket = { peer: { address: request.peer.address, port: request.peer.port }, byToken: new Map(), count: 0 };
      this.#peers.set(pk, bucket);
    }
    const obs = this.scheduler.start(
      {
        peer: bucket.peer,
        path: request.path,
        token: request.token,
        confirmable: request.confirmable,
        ...(request.accept !== undefined ? { accept: request.accept } : {}),
        handlers: this.#wrap(handlers),
        sequence,
      },
      firstValue,
    );
    // The scheduler ends an observation at once when its attributes callback throws; keep no trace of it.
    if (!obs.active) {
      if (bucket.count === 0) this.#peers.delete(pk);
      return obs;
    }
    put(bucket.byToken, obs.tokenHash, obs as AnyObservation);
    bucket.count++;
    this.#index(obs as AnyObservation);
    this.#size++;
    return obs;
  }

  get(peer: Peer, token: Uint8Array): AnyObservation | undefined {
    const b = this.#peers.get(peerKey(peer))?.byToken.get(tokenHash(token));
    if (b === undefined) return undefined;
    if (!Array.isArray(b)) return b.hasToken(token) ? b : undefined;
    return b.find((o) => o.hasToken(token));
  }

  /** Cancels one observation: GET with Observe = 1, or an RST answering a notification. False when there was none. */
  cancel(peer: Peer, token: Uint8Array): boolean {
    const o = this.get(peer, token);
    if (!o) return false;
    this.scheduler.stop(o);
    this.#drop(o);
    return true;
  }

  /** Cancels every observation of a peer (De-register, or a new Register from that server); returns how many. */
  cancelPeer(peer: Peer): number {
    const bucket = this.#peers.get(peerKey(peer));
    if (!bucket) return 0;
    const all = this.forPeer(peer);
    for (const o of all) {
      this.scheduler.stop(o);
      this.#drop(o);
    }
    return all.length;
  }

  /** Cancels everything (the client stops). */
  cancelAll(): number {
    let n = 0;
    for (const b of [...this.#peers.values()]) n += this.cancelPeer(b.peer);
    return n;
  }

  /** The observations of one peer. */
  forPeer(peer: Peer): AnyObservation[] {
    const out: AnyObservation[] = [];
    for (const b of this.#peers.get(peerKey(peer))?.byToken.values() ?? []) each(b, (o) => out.push(o));
    return out;
  }

  /** The observations on exactly this path. */
  at(path: Lwm2mPath): AnyObservation[] {
    const out: AnyObservation[] = [];
    each(this.#bucketOf(path), (o) => {
      if (samePath(o.path, path)) out.push(o);
    });
    return out;
  }

  /**
   * Routes a change to the observations it concerns and returns how many were told:
   * - (o, i, r): a resource changed (ObjectInstance.onChange) → observations on /o, /o/i, /o/i/r and /o/i/r/*,
   *   found by three map lookups, whatever else is observed;
   * - (o, i): an instance was created, deleted or rewritten → /o, and /o/i with everything under it
   *   (this rare case looks through the client's observations);
   * - (o): the set of instances changed → /o.
   */
  changed(objectId: number, instanceId?: number, resourceId?: number): number {
    let n = 0;
    const tell = (o: AnyObservation): void => {
      this.scheduler.changed(o);
      n++;
    };
    each(this.#byObject.get(objectId), tell);
    if (instanceId === undefined) return n;
    if (resourceId === undefined) {
      this.#eachUnder({ objectId, instanceId }, tell);
      return n;
    }
    each(this.#byInstance.get(instanceKey(objectId, instanceId)), (o) => {
      if (o.path.objectId === objectId && o.path.instanceId === instanceId) tell(o);
    });
    each(this.#byResource.get(resourceKey(objectId, instanceId, resourceId)), (o) => {
      if (o.path.objectId === objectId && o.path.instanceId === instanceId && o.path.resourceId === resourceId) tell(o);
    });
    return n;
  }

  /**
   * Re-reads attributes now for the observations at `path` and below (attributes inherit downwards), or
   * for all when no path is given (the Server object's default periods changed). Returns how many.
   */
  refresh(path?: Lwm2mPath): number {
    let n = 0;
    const again = (o: AnyObservation): void => {
      this.scheduler.refresh(o);
      n++;
    };
    if (path) this.#eachUnder(path, again);
    else for (const o of this.#all()) again(o);
    return n;
  }

  /** Re-reads attributes now for every observation of one peer (its server's /1/x/2 or /1/x/3 changed). */
  refreshPeer(peer: Peer): number {
    const all = this.forPeer(peer);
    for (const o of all) this.scheduler.refresh(o);
    return all.length;
  }

  #wrap<V>(h: ObservationHandlers<V>): ObservationHandlers<V> {
    let w = this.#wrapped.get(h);
    if (!w) {
      const u = h as ObservationHandlers<unknown>;
      w = {
        read: (o) => u.read(o),
        attributes: (o) => u.attributes(o),
        send: (o, value, sequence, confirmable) => u.send(o, value, sequence, confirmable),
        ended: (o: Observation<unknown>, reason: EndReason, error?: unknown) => {
          this.#drop(o);
          u.ended?.(o, reason, error);
        },
        ...(u.equals ? { equals: (a: unknown, b: unknown) => u.equals!(a, b) } : {}),
      };
      this.#wrapped.set(h, w);
    }
    return w as ObservationHandlers<V>;
  }

  // ---- indexes ----

  #eachUnder(path: Lwm2mPath, fn: (o: AnyObservation) => void): void {
    if (path.resourceId !== undefined) {
      each(this.#bucketOf(path), (o) => {
        if (covers(path, o.path)) fn(o);
      });
      return;
    }
    for (const o of this.#all()) if (covers(path, o.path)) fn(o);
  }

  #all(): AnyObservation[] {
    const out: AnyObservation[] = [];
    for (const p of this.#peers.values()) for (const b of p.byToken.values()) each(b, (o) => out.push(o));
    return out;
  }

  #mapOf(path: Lwm2mPath): [Map<number, Bucket>, number] {
    const { objectId: o, instanceId: i, resourceId: r } = path;
    if (i === undefined) return [this.#byObject, o];
    if (r === undefined) return [this.#byInstance, instanceKey(o, i)];
    return [this.#byResource, resourceKey(o, i, r)];
  }

  #bucketOf(path: Lwm2mPath): Bucket | undefined {
    const [map, key] = this.#mapOf(path);
    return map.get(key);
  }

  #index(o: AnyObservation): void {
    const [map, key] = this.#mapOf(o.path);
    put(map, key, o);
  }

  #unindex(o: AnyObservation): void {
    const [map, key] = this.#mapOf(o.path);
    take(map, key, o);
  }

  #drop(o: AnyObservation): void {
    const pk = peerKey(o.peer);
    const bucket = this.#peers.get(pk);
    if (!bucket) return;
    const b = bucket.byToken.get(o.tokenHash);
    if (b !== o && !(Array.isArray(b) && b.includes(o))) return;
    take(bucket.byToken, o.tokenHash, o);
    if (--bucket.count === 0) this.#peers.delete(pk);
    this.#unindex(o);
    this.#size--;
  }
}
