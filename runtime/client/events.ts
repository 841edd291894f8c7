// The client's lifecycle and request events with their argument types, for the project's typed emitter.
import type { CoapMethod, Peer } from '../coap/types.js';
import type { Lwm2mPath } from '../model.js';
import type { StoredDropEvent } from '../notify/stored.js';
import type { WakeReason } from './queue-mode.js';

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
  /** When the next attempt is due, in ms from now; -1 when the retry schedule gave up (the device bootstraps then). */
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

/**
 * Held messages (stored notifications) went undelivered: the store was full or an observation's hqmax was reached
 * (the oldest went), their observations ended, or the server refused one.
 */
export type NotificationsDroppedEvent = StoredDropEvent;
/** Queue mode: the awake period ended and the client stopped listening. */
export interface SleepingEvent {
  /** The awake period that passed without an exchange, in ms. */
  readonly awakeMs: number;
}
/** Queue mode: the client is listening again; an Update goes first, then what was held. */
export interface AwakeEvent {
  readonly reason: WakeReason;
}

/** Every event the client emits and the argument its listeners get. */
export interface ClientEvents {
  registered: RegisteredEvent;
  updated: UpdatedEvent;
  deregistered: DeregisteredEvent;
  'registration-failed': RegistrationFailedEvent;
  'registration-pending': RegistrationPendingEvent;
  request: RequestEvent;
  'notifications-dropped': NotificationsDroppedEvent;
  sleeping: SleepingEvent;
  awake: AwakeEvent;
  error: Error;
}

// The project's one typed emitter lives in runtime/emitter.ts.
export { TypedEmitter } from '../emitter.js';
