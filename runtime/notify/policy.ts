// Where notification attributes come from when a server set none: the Server object's defaults, then a policy (the spec's, or a preset).
import type { Lwm2mPath } from '../model.js';
import type { AttributeStore, NotificationAttributes } from './attributes.js';

/**
 * Notification attributes to use where neither Write-Attributes nor the Server object say. Periods in seconds.
 */
export interface NotifyPolicy {
  /** Used for objects without an entry in `objects`. */
  readonly defaults: Readonly<NotificationAttributes>;
  /** Per object id: replaces the named attributes of `defaults` for that object. */
  readonly objects?: Readonly<Record<number, Readonly<NotificationAttributes>>>;
}

/**
 * The spec's defaults (LwM2M 1.1 core 7.3.1): pmin 0 and no pmax, so a change is notified as it happens and an
 * unchanged value is not repeated. The default policy of every client.
 */
export const SPEC_NOTIFY_POLICY: NotifyPolicy = Object.freeze({ defaults: Object.freeze({ pmin: 0 }) });

/**
 * The 2016 Azure IoT Hub device-management library's profile, a preset an app opts into (`notifyPolicy:
 * NOTIFY_PRESET_2016`): pmin 5 min and pmax 6 h, so a chatty resource cannot flood a constrained link, and
 * Firmware Update (/5) at pmin 30 s so an update's state changes arrive promptly.
 */
export const NOTIFY_PRESET_2016: NotifyPolicy = Object.freeze({
  defaults: Object.freeze({ pmin: 300, pmax: 21600 }),
  objects: Object.freeze({ 5: Object.freeze({ pmin: 30 }) }),
});

/** The policy a client uses unless told otherwise: the spec's. */
export const DEFAULT_NOTIFY_POLICY: NotifyPolicy = SPEC_NOTIFY_POLICY;

/** Named notification presets, for apps and command lines that pick one by name. */
export const NOTIFY_PRESETS: Readonly<Record<'spec' | '2016', NotifyPolicy>> = Object.freeze({
  spec: SPEC_NOTIFY_POLICY,
  '2016': NOTIFY_PRESET_2016,
});

/**
 * The Server object's Default Minimum Period (/1/x/2) and Default Maximum Period (/1/x/3) of the
 * server that owns the observation, in seconds; leave a field out when that resource is absent.
 */
export interface ServerDefaults {
  readonly pmin?: number;
  readonly pmax?: number;
}

/**
 * The defaults in force for an object: the policy (per object, then general), overridden by what the
 * Server object says. Attributes written with Write-Attributes override these in turn (AttributeStore.effective).
 */
export function notifyDefaults(
  objectId: number,
  policy: NotifyPolicy = DEFAULT_NOTIFY_POLICY,
  server?: ServerDefaults,
): NotificationAttributes {
  const out: NotificationAttributes = { ...policy.defaults, ...policy.objects?.[objectId] };
  if (server?.pmin !== undefined) out.pmin = server.pmin;
  if (server?.pmax !== undefined) out.pmax = server.pmax;
  return out;
}

/**
 * The `attributes` callback for one server's observations: reads the store and the Server object on
 * every call, so a Write-Attributes or a write to /1/x/2 or /1/x/3 takes effect at the next evaluation
 * (and at once after ObservationRegistry.refresh). One function serves all observations of that server.
 */
export function attributeSource(
  store: AttributeStore,
  serverDefaults: () => ServerDefaults | undefined,
  policy: NotifyPolicy = DEFAULT_NOTIFY_POLICY,
): (observation: { readonly path: Lwm2mPath }) => NotificationAttributes {
  return (observation) =>
    store.effective(observation.path, notifyDefaults(observation.path.objectId, policy, serverDefaults()));
}
