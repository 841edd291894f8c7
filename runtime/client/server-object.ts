// The LwM2M Server object (/1) as the client owns it: its instance from the client's options, the values registration reads, Disable, Registration Update Trigger and the Binding check.
import { NotFoundError, ValueError } from '../errors.js';
import type { Lwm2mPath, ResourceContent } from '../model.js';
import type { ExecuteArguments } from '../object/execute-args.js';
import { ObjectInstance, attachResourceBehaviour } from '../object/instance.js';
import type { ObjectRegistry, RegistryEvent } from './registry.js';
import { SERVER_MODEL } from './server-model.js';
import { SERVER_OBJECT, ServerResource } from './server-resources.js';

// The ids live in server-resources.ts, a file with no imports, so the generator can read them without loading the runtime.
export { CLIENT_HANDLED_EXECUTES, SERVER_OBJECT, ServerResource } from './server-resources.js';

const DEFAULT_LIFETIME = 86400;
const DEFAULT_DISABLE_TIMEOUT = 86400;
/** Binding letters of LwM2M 1.1/1.2 (U UDP, T TCP, S SMS, N Non-IP) and 1.0's Q (queue mode). */
const BINDING_LETTERS = 'UTSNQ';

/**
 * Checks a Binding (/1/x/7): one or more of the letters U, T, S, N and Q, each at most once. Throws ValueError
 * (a 4.00 when a server writes it).
 */
export function checkBinding(value: string, path?: Lwm2mPath): string {
  if (value === '') throw new ValueError('Binding is empty', path);
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (!BINDING_LETTERS.includes(c)) throw new ValueError(`Binding "${value}" has "${c}", not one of ${BINDING_LETTERS.split('').join(', ')}`, path);
    if (value.indexOf(c) !== i) throw new ValueError(`Binding "${value}" names ${c} twice`, path);
  }
  return value;
}

/** The Server instance a client makes from its options when the app adds none. */
export interface ServerSettings {
  /** Short Server ID (/1/x/0); default 1. */
  readonly shortServerId?: number;
  /** Lifetime in seconds (/1/x/1); default 86400. */
  readonly lifetime?: number;
  /** Binding (/1/x/7); default "U". */
  readonly binding?: string;
  /** Default Minimum Period (/1/x/2) in seconds; absent by default (the notify policy decides). */
  readonly defaultPmin?: number;
  /** Default Maximum Period (/1/x/3) in seconds; absent by default. */
  readonly defaultPmax?: number;
  /** Disable Timeout (/1/x/5) in seconds; absent by default (86400). */
  readonly disableTimeout?: number;
  /** Notification Storing When Disabled or Offline (/1/x/6); default false. */
  readonly notificationStoring?: boolean;
  /**
   * Mute Send (/1/x/23); default false, so the client may Send. LwM2M 1.1 reads an absent Mute Send as muted: an
   * app's own /1 instance without it cannot Send.
   */
  readonly muteSend?: boolean;
}

/** The runtime's own /1 instance: the values of ServerSettings, checked against the Server object's model. */
export class ServerInstance extends ObjectInstance {
  constructor(instanceId: number, settings: ServerSettings = {}) {
    super(SERVER_MODEL, instanceId, {});
    this.setResource(ServerResource.SHORT_SERVER_ID, settings.shortServerId ?? 1);
    this.setResource(ServerResource.LIFETIME, settings.lifetime ?? DEFAULT_LIFETIME);
    if (settings.defaultPmin !== undefined) this.setResource(ServerResource.DEFAULT_PMIN, settings.defaultPmin);
    if (settings.defaultPmax !== undefined) this.setResource(ServerResource.DEFAULT_PMAX, settings.defaultPmax);
    if (settings.disableTimeout !== undefined) this.setResource(ServerResource.DISABLE_TIMEOUT, settings.disableTimeout);
    this.setResource(ServerResource.NOTIFICATION_STORING, settings.notificationStoring ?? false);
    this.setResource(ServerResource.MUTE_SEND, settings.muteSend ?? false);
    this.setResource(ServerResource.BINDING, checkBinding(settings.binding ?? 'U', this.path(ServerResource.BINDING)));
  }

  /** Sets values at once, each checked against the model (a Bootstrap-Write, the store); not a server's Write. */
  restore(values: ReadonlyMap<number, ResourceContent>): void {
    const binding = values.get(ServerResource.BINDING);
    if (binding !== undefined) checkBinding(String(binding), this.path(ServerResource.BINDING));
    for (const r of this.definition.resources) if (values.has(r.id) && r.operations !== 'E') this.setResource(r.id, values.get(r.id));
    for (const id of values.keys()) if (!this.definition.resource(id)) throw new ValueError('no such resource in the Server object', this.path(id));
  }
}

export interface ServerObjectOptions {
  readonly registry: ObjectRegistry;
  /** Which /1 instance is this server's (/1/x/0); by default the only one. */
  readonly shortServerId?: number;
  /** What the instance made at start holds, and what holds before there is one. */
  readonly settings: ServerSettings;
  /** Registration Update Trigger was executed; called after the 2.04 is out. */
  readonly onUpdateTrigger: () => void;
  /** Disable was executed; called after the 2.04 is out. */
  readonly onDisable: () => void;
  /** Bootstrap-Request Trigger (/1/x/9) was executed; called after the 2.04. Absent: the resource is not served. */
  readonly onBootstrapRequest?: () => void;
}

/** The Server object's behaviour for one client: which instance is its server's, and what it says. */
export class ServerObject {
  readonly #o: ServerObjectOptions;

  constructor(options: ServerObjectOptions) {
    this.#o = options;
    // A shared registry may hold /1 instances already (DeviceClient adds them before it makes each server's client).
    for (const inst of options.registry.instances(SERVER_OBJECT)) this.#attach(inst);
  }

  /** This server's /1 instance: the one whose Short Server ID is the client's, or the only one. */
  instance(): ObjectInstance | undefined {
    const instances = this.#o.registry.instances(SERVER_OBJECT);
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

  /** Adds the /1 instance made from the settings unless the app added its own; returns the server's instance. */
  ensureInstance(): ObjectInstance | undefined {
    if (this.#o.registry.instances(SERVER_OBJECT).length === 0) {
      const ssid = this.#o.shortServerId ?? this.#o.settings.shortServerId;
      this.#o.registry.addInstance(new ServerInstance(0, { ...this.#o.settings, ...(ssid !== undefined ? { shortServerId: ssid } : {}) }));
    }
    return this.instance();
  }

  value(resourceId: number): ResourceContent | undefined {
    const inst = this.instance();
    if (!inst?.hasResource(resourceId)) return undefined;
    try {
      return inst.readResource(resourceId);
    } catch {
      return undefined;
    }
  }

  /** The lifetime to register with: /1/x/1, else the settings', else 86400 s. */
  lifetime(): number {
    const v = this.value(ServerResource.LIFETIME);
    return typeof v === 'number' && v > 0 ? v : this.#o.settings.lifetime ?? DEFAULT_LIFETIME;
  }

  binding(): string {
    const v = this.value(ServerResource.BINDING);
    return typeof v === 'string' && v !== '' ? v : this.#o.settings.binding ?? 'U';
  }

  /**
   * Mute Send (/1/x/23): its value, or undefined when the instance lacks the resource (which LwM2M 1.1 reads as
   * muted). Before start() has made the instance, the settings' (default false).
   */
  muteSend(): boolean | undefined {
    if (!this.instance()) return this.#o.settings.muteSend ?? false;
    const v = this.value(ServerResource.MUTE_SEND);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** This server's Short Server ID (/1/x/0), when its instance says. */
  shortServerId(): number | undefined {
    const v = this.value(ServerResource.SHORT_SERVER_ID);
    return typeof v === 'number' ? v : this.#o.shortServerId;
  }

  disableTimeout(): number {
    const v = this.value(ServerResource.DISABLE_TIMEOUT);
    return typeof v === 'number' && v >= 0 ? v : DEFAULT_DISABLE_TIMEOUT;
  }

  /** Default pmin/pmax (/1/x/2, /1/x/3), for the notify scheduler. */
  defaults(): { pmin?: number; pmax?: number } {
    const out: { pmin?: number; pmax?: number } = {};
    const pmin = this.value(ServerResource.DEFAULT_PMIN);
    const pmax = this.value(ServerResource.DEFAULT_PMAX);
    if (typeof pmin === 'number') out.pmin = pmin;
    if (typeof pmax === 'number') out.pmax = pmax;
    return out;
  }

  /** The server may not delete its own Server instance. */
  isProtected(objectId: number, instanceId: number): boolean {
    return objectId === SERVER_OBJECT && this.instance()?.instanceId === instanceId;
  }

  /** Another server's Server instance, when there are several servers: this server may read it, not change it. */
  isForeign(objectId: number, instanceId: number): boolean {
    if (objectId !== SERVER_OBJECT || this.#o.shortServerId === undefined) return false;
    const mine = this.instance();
    return mine !== undefined && mine.instanceId !== instanceId;
  }

  /**
   * What a registry event means for registration: 'periods' when this server's default periods changed,
   * 'registration' when the Update must carry something new (lifetime, binding, object links), else undefined.
   * Attaches the runtime's behaviour to every /1 instance as it is added.
   */
  onRegistryEvent(e: RegistryEvent): 'periods' | 'registration' | undefined {
    if (e.kind === 'instance-added' && e.objectId === SERVER_OBJECT) this.#attach(e.instance);
    if (e.kind !== 'resource-changed') return 'registration';
    if (e.objectId !== SERVER_OBJECT || e.instance !== this.instance()) return undefined;
    if (e.resourceId === ServerResource.DEFAULT_PMIN || e.resourceId === ServerResource.DEFAULT_PMAX) return 'periods';
    if (e.resourceId === ServerResource.LIFETIME || e.resourceId === ServerResource.BINDING) return 'registration';
    return undefined;
  }

  #attach(inst: ObjectInstance): void {
    attachResourceBehaviour(inst, ServerResource.BINDING, {
      write: (next) => { checkBinding(String(next), inst.path(ServerResource.BINDING)); },
    });
    if (this.#o.shortServerId !== undefined && inst.hasResource(ServerResource.SHORT_SERVER_ID)
      && inst.readResource(ServerResource.SHORT_SERVER_ID) !== this.#o.shortServerId) {
      // Another server's instance in a shared registry: its own client attaches what it does.
      return;
    }
    const own = (id: number, run: () => void) => (args: ExecuteArguments, app: ((a: ExecuteArguments) => void | Promise<void>) | undefined) => {
      if (inst !== this.instance()) {
        // Another server's instance: this client has nothing to do for it.
        if (app) return app(args);
        throw new NotFoundError('not the Server instance of this client', inst.path(id));
      }
      args.afterResponse(run);
      return undefined;
    };
    attachResourceBehaviour(inst, ServerResource.DISABLE, { execute: own(ServerResource.DISABLE, () => this.#o.onDisable()) });
    attachResourceBehaviour(inst, ServerResource.REGISTRATION_UPDATE_TRIGGER, {
      execute: own(ServerResource.REGISTRATION_UPDATE_TRIGGER, () => this.#o.onUpdateTrigger()),
    });
    const bootstrap = this.#o.onBootstrapRequest;
    if (bootstrap) {
      attachResourceBehaviour(inst, ServerResource.BOOTSTRAP_REQUEST_TRIGGER, {
        execute: own(ServerResource.BOOTSTRAP_REQUEST_TRIGGER, () => bootstrap()),
      });
    }
  }
}
