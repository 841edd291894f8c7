// The observations of one LwM2M client: found by (peer, token) for cancels and by path for change routing.
import type { Lwm2mPath } from '../model.js';
import type { Peer } from '../coap/types.js';
import type { NotifyScheduler, Observation, ObservationBase, ObservationHandlers, ObservationOwner } from './scheduler.js';

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
}

type AnyObservation = Observation<unknown>;

/** One level of the path tree; `obs` is a single observation or a list, since most paths have exactly one. */
interface PathNode {
  obs: AnyObservation | AnyObservation[] | undefined;
  kids: Map<number, PathNode> | undefined;
}

interface PeerBucket {
  /** The one Peer object every observation of this peer shares. */
  readonly peer: Peer;
  readonly byToken: Map<string, AnyObservation>;
}

function peerKey(p: Peer): string {
  return `${p.address}|${p.port}`;
}

function tokenKey(token: Uint8Array): string {
  let s = '';
  for (const b of token) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

function ids(path: Lwm2mPath): number[] {
  const out = [path.objectId];
  if (path.instanceId === undefined) return out;
  out.push(path.instanceId);
  if (path.resourceId === undefined) return out;
  out.push(path.resourceId);
  if (path.resourceInstanceId !== undefined) out.push(path.resourceInstanceId);
  return out;
}

function each(node: PathNode | undefined, fn: (o: AnyObservation) => void): void {
  const o = node?.obs;
  if (o === undefined) return;
  if (Array.isArray(o)) for (const x of o.slice()) fn(x);
  else fn(o);
}

/** Everything at `node` and below it. */
function eachUnder(node: PathNode | undefined, fn: (o: AnyObservation) => void): void {
  if (!node) return;
  each(node, fn);
  if (node.kids) for (const k of node.kids.values()) eachUnder(k, fn);
}

/**
 * The observations of one client across its servers. Adding and cancelling are O(1) by token; a
 * change is routed by walking the path tree (object → instance → resource), so it touches only the
 * observations whose path covers the change, never the others.
 */
export class ObservationRegistry {
  readonly scheduler: NotifyScheduler;
  readonly #peers = new Map<string, PeerBucket>();
  readonly #root = new Map<number, PathNode>();
  #size = 0;
  readonly #owner: ObservationOwner = { detached: (o) => this.#drop(o as AnyObservation) };

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
    const tk = tokenKey(request.token);
    const old = this.#peers.get(pk)?.byToken.get(tk);
    let sequence = 0;
    if (old) {
      sequence = (old.sequence + 1) & 0xffffff;
      this.scheduler.stop(old);
      this.#drop(old);
    }
    let bucket = this.#peers.get(pk);
    if (!bucket) {
      bucket = { peer: { address: request.peer.address, port: request.peer.port }, byToken: new Map() };
      this.#peers.set(pk, bucket);
    }
    const obs = this.scheduler.start(
      {
        peer: bucket.peer,
        path: request.path,
        token: request.token,
        confirmable: request.confirmable,
        ...(request.accept !== undefined ? { accept: request.accept } : {}),
        handlers,
        sequence,
      },
      firstValue,
      this.#owner,
    );
    bucket.byToken.set(tk, obs as AnyObservation);
    this.#index(obs as AnyObservation);
    this.#size++;
    return obs;
  }

  get(peer: Peer, token: Uint8Array): AnyObservation | undefined {
    return this.#peers.get(peerKey(peer))?.byToken.get(tokenKey(token));
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
    const all = [...bucket.byToken.values()];
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
    return [...(this.#peers.get(peerKey(peer))?.byToken.values() ?? [])];
  }

  /** The observations on exactly this path. */
  at(path: Lwm2mPath): AnyObservation[] {
    const out: AnyObservation[] = [];
    each(this.#node(path), (o) => out.push(o));
    return out;
  }

  /**
   * Routes a change to the observations it concerns and returns how many were told:
   * - (o, i, r): a resource changed (ObjectInstance.onChange) → observations on /o, /o/i, /o/i/r and /o/i/r/*;
   * - (o, i): an instance was created, deleted or rewritten → /o, and /o/i with everything under it;
   * - (o): the set of instances changed → /o.
   */
  changed(objectId: number, instanceId?: number, resourceId?: number): number {
    let n = 0;
    const tell = (o: AnyObservation): void => {
      this.scheduler.changed(o);
      n++;
    };
    const on = this.#root.get(objectId);
    if (!on) return 0;
    each(on, tell);
    if (instanceId === undefined) return n;
    const inode = on.kids?.get(instanceId);
    if (!inode) return n;
    if (resourceId === undefined) {
      eachUnder(inode, tell);
      return n;
    }
    each(inode, tell);
    eachUnder(inode.kids?.get(resourceId), tell);
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
    if (path) eachUnder(this.#node(path), again);
    else for (const on of this.#root.values()) eachUnder(on, again);
    return n;
  }

  /** Re-reads attributes now for every observation of one peer (its server's /1/x/2 or /1/x/3 changed). */
  refreshPeer(peer: Peer): number {
    const all = this.forPeer(peer);
    for (const o of all) this.scheduler.refresh(o);
    return all.length;
  }

  // ---- indexes ----

  #node(path: Lwm2mPath): PathNode | undefined {
    let node: PathNode | undefined;
    let kids: Map<number, PathNode> | undefined = this.#root;
    for (const id of ids(path)) {
      node = kids?.get(id);
      if (!node) return undefined;
      kids = node.kids;
    }
    return node;
  }

  #index(o: AnyObservation): void {
    let node: PathNode | undefined;
    for (const id of ids(o.path)) {
      const kids: Map<number, PathNode> = node ? (node.kids ??= new Map()) : this.#root;
      let next = kids.get(id);
      if (!next) {
        next = { obs: undefined, kids: undefined };
        kids.set(id, next);
      }
      node = next;
    }
    const n = node!;
    if (n.obs === undefined) n.obs = o;
    else if (Array.isArray(n.obs)) n.obs.push(o);
    else n.obs = [n.obs, o];
  }

  #unindex(o: AnyObservation): void {
    const trail: Array<[Map<number, PathNode>, number, PathNode]> = [];
    let kids: Map<number, PathNode> | undefined = this.#root;
    for (const id of ids(o.path)) {
      const node: PathNode | undefined = kids?.get(id);
      if (!node) return;
      trail.push([kids!, id, node]);
      kids = node.kids;
    }
    const last = trail[trail.length - 1]![2];
    if (last.obs === o) last.obs = undefined;
    else if (Array.isArray(last.obs)) {
      const i = last.obs.indexOf(o);
      if (i >= 0) last.obs.splice(i, 1);
      if (last.obs.length === 1) last.obs = last.obs[0];
      else if (last.obs.length === 0) last.obs = undefined;
    }
    // Prune empty levels bottom-up so a client that observes and cancels for months does not grow.
    for (let i = trail.length - 1; i >= 0; i--) {
      const [map, id, node] = trail[i]!;
      if (node.obs !== undefined || (node.kids && node.kids.size > 0)) break;
      map.delete(id);
    }
  }

  #drop(o: AnyObservation): void {
    const pk = peerKey(o.peer);
    const bucket = this.#peers.get(pk);
    if (!bucket || bucket.byToken.get(o.tokenKey) !== o) return;
    bucket.byToken.delete(o.tokenKey);
    if (bucket.byToken.size === 0) this.#peers.delete(pk);
    this.#unindex(o);
    this.#size--;
  }
}
