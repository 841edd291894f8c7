// The contract of an Lwm2mClient: the options it takes, the session it keeps across a restart, and the errors of its usage.
import type { Clock } from '../coap/clock.js';
import type { Block1Sink, Block1Start, CoapEndpoint, Peer } from '../coap/types.js';
import type { Lwm2mPath } from '../model.js';
import type { NotificationAttributes, NotifyPolicy, NotifyScheduler } from '../notify/index.js';
import type { StoredQueueLimits, StoredQueuePersistence } from '../notify/stored.js';
import type { ObjectInstance } from '../object/instance.js';
import type { StoredObservation } from './observe.js';
import type { QueueModeOptions } from './queue-mode.js';
import { ClientUsageError, type ObjectRegistry } from './registry.js';
import type { RegistrationSettings, ResumedRegistration } from './registration.js';
import type { OfflineSendSink } from './send.js';
import type { ServerSettings } from './server-object.js';

export interface Lwm2mClientOptions extends Omit<ServerSettings, 'shortServerId'>, RegistrationSettings {
  /** Endpoint Client Name (`ep=`). */
  readonly endpointName: string;
  /** The CoAP endpoint the client registers from and serves on; the app owns it (the client never closes it). */
  readonly transport: CoapEndpoint;
  /** The LwM2M Server's address. Requests from any other peer are refused with 4.03. */
  readonly server: Peer;
  /**
   * Short Server ID: which Server object instance is this server's (/1/x/0), and the one the client's own instance
   * gets. By default the only /1 instance; when the app adds none, start() adds one from these options (id 1).
   */
  readonly shortServerId?: number;
  /**
   * Content-Format of multi-value Reads without Accept, also announced as `ct`; default SenML CBOR (112). One the
   * client can encode several values in (TLV, SenML JSON, SenML CBOR, LwM2M CBOR, LwM2M JSON), else the constructor throws.
   */
  readonly preferredFormat?: number;
  /** Timers (a manual clock in tests); default the system clock. */
  readonly clock?: Clock;
  /**
   * The objects to serve, shared with the clients of the device's other servers (DeviceClient does this): each
   * client keeps its own registration, observations and attributes, and its server manages only its own /1 instance.
   * By default a registry of the client's own.
   */
  readonly registry?: ObjectRegistry;
  /** Bootstrap-Request Trigger (/1/x/9) was executed by this server; called after the 2.04. Absent: /1/x/9 is 4.04. */
  readonly onBootstrapRequest?: () => void;
  /**
   * What this server's session was before a restart (a device's store keeps it): start() restores the attributes
   * and observations and sends an Update to the registration (a Register when the server answers 4.04).
   */
  readonly resume?: ClientSession;
  /** Told when the session changed (registration, observations, attributes, a notification's sequence number). */
  readonly onSessionChange?: () => void;
  /** The retry schedule (retry.schedule) gave up registering: the device falls back to bootstrap. */
  readonly onRegistrationExhausted?: () => void;
  /** The notify scheduler; by default the process-wide one (or a private one on `clock` when given). */
  readonly scheduler?: NotifyScheduler;
  /**
   * Notification defaults where neither Write-Attributes nor the Server object say: the spec's (pmin 0, no pmax)
   * unless given, e.g. NOTIFY_PRESET_2016.
   */
  readonly notifyPolicy?: NotifyPolicy;
  /** Notifications as CON (default false: NON, with a CON at least daily). */
  readonly confirmableNotifications?: boolean;
  /**
   * Notification Storing (/1/x/6): the bounds of what is held while the server cannot be reached (default 1000
   * notifications and 256 KiB, the oldest dropped first with a 'notifications-dropped' event), and where it is kept
   * across a restart (DeviceClient passes a section of its store).
   */
  readonly notificationStore?: StoredQueueLimits & {
    readonly persist?: StoredQueuePersistence;
    /** Wall-clock ms since the epoch, the time a held notification carries (default Date.now). */
    readonly now?: () => number;
  };
  /** Queue mode (LwM2M 1.1): registers with `Q`, sleeps after each awake period, wakes to send; see wake(). */
  readonly queueMode?: QueueModeOptions;
  /**
   * Where a Send goes while the client is not registered or its outbox holds messages (see send.ts's OfflineSendSink).
   * Absent, the client holds it in its outbox with the notifications (kept per Notification Storing, /1/x/6: all of
   * them when true, the latest when false) and POSTs it, with its original times, once the server is back; a client
   * not started, or stopped, rejects with SendNotRegisteredError.
   */
  readonly offlineSend?: OfflineSendSink;
  /** Wall-clock time, ms since the epoch, for the timestamps of Sends; Date.now by default. */
  readonly wallClock?: () => number;
}

/** A server's session as a store keeps it across a restart. */
export interface ClientSession {
  readonly registration?: ResumedRegistration;
  readonly observations: readonly StoredObservation[];
  /** The attributes the server wrote, by the path it wrote them at. */
  readonly attributes: readonly { readonly path: Lwm2mPath; readonly attributes: NotificationAttributes }[];
}

/** start() found instances without mandatory readable resources; `missing` lists every one, by path. */
export class MissingMandatoryError extends ClientUsageError {
  readonly missing: readonly { readonly path: string; readonly name: string }[];
  constructor(missing: readonly { readonly path: string; readonly name: string }[]) {
    super(`mandatory resources without a value: ${missing.map((m) => `${m.path} (${m.name})`).join(', ')}`);
    this.name = 'MissingMandatoryError';
    this.missing = missing;
  }
}

/** Opens the sink of a streamed Write (see Lwm2mClient.streamWrites); a thrown Lwm2mError refuses the upload with its code. */
export type StreamedWriteOpener = (instance: ObjectInstance, start: Block1Start) => Block1Sink | Promise<Block1Sink>;
