// A small typed event emitter: the client's lifecycle and request events with their argument types checked.
import type { CoapMethod, Peer } from '../coap/types.js';
import type { Lwm2mPath } from '../model.js';

export interface RegisteredEvent {
  /** The registration's location on the server (Location-Path of the 2.01), e.g. ["rd", "5a3f"]. */
  readonly location: readonly string[];
  readonly lifetime: number;
}
export interface UpdatedEvent {
  readonly location: readonly string[];
  /** What the Update carried besides refreshing the registration. */
  readonly lifetime?: number;
  readonly binding?: string;
  readonly links: boolean;
}
export interface DeregisteredEvent {
  readonly location: readonly string[];
  /** Why: the app stopped the client, or the server executed Disable. */
  readonly reason: 'stop' | 'disable';
}
export interface RegistrationFailedEvent {
  readonly operation: 'register' | 'update';
  /** The server's response code, or undefined when the request got no answer. */
  readonly code?: string;
  readonly error: Error;
  /** Consecutive failures so far (1 on the first). */
  readonly attempt: number;
  /** When the next attempt is due, in ms from now. */
  readonly retryInMs: number;
}
/** A Register or Update has gone unanswered for a while; the message layer keeps retransmitting it. */
export interface RegistrationPendingEvent {
  readonly operation: 'register' | 'update';
  /** Where the request goes. */
  readonly server: Peer;
  /** How long it has waited so far, in ms. */
  readonly waitedMs: number;
  /** Which attempt this is (1 on the first). */
  readonly attempt: number;
}
export interface RequestEvent {
  readonly method: CoapMethod;
  /** The LwM2M path, or undefined when the Uri-Path was not one. */
  readonly path: Lwm2mPath | undefined;
  readonly uriPath: string;
  readonly code: string;
}

/** Every event the client emits and the argument its listeners get. */
export interface ClientEvents {
  registered: RegisteredEvent;
  updated: UpdatedEvent;
  deregistered: DeregisteredEvent;
  'registration-failed': RegistrationFailedEvent;
  'registration-pending': RegistrationPendingEvent;
  request: RequestEvent;
  error: Error;
}

type Listener<T> = (event: T) => void;

export class TypedEmitter<E extends object> {
  readonly #listeners = new Map<keyof E, Array<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    const list = this.#listeners.get(name) ?? [];
    list.push(listener as Listener<never>);
    this.#listeners.set(name, list);
    return () => this.off(name, listener);
  }

  once<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    const off = this.on(name, (e) => {
      off();
      listener(e);
    });
    return off;
  }

  off<K extends keyof E>(name: K, listener: Listener<E[K]>): void {
    const list = this.#listeners.get(name);
    if (!list) return;
    const i = list.indexOf(listener as Listener<never>);
    if (i >= 0) list.splice(i, 1);
  }

  /** A promise of the next event of that name (handy in tests and startup code). */
  next<K extends keyof E>(name: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(name, resolve));
  }

  /**
   * Calls the listeners in order. A listener that throws must not break the client's state machine,
   * so its error is re-emitted as 'error' (or dropped when it came from an 'error' listener itself).
   */
  protected emit<K extends keyof E>(name: K, event: E[K]): void {
    const list = this.#listeners.get(name);
    if (!list) return;
    for (const l of [...list]) {
      try {
        (l as Listener<E[K]>)(event);
      } catch (err) {
        if (name !== 'error' && (this.#listeners.get('error' as K)?.length ?? 0) > 0) {
          this.emit('error' as K, (err instanceof Error ? err : new Error(String(err))) as E[K]);
        }
      }
    }
  }
}
