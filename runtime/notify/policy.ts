// Where notification attributes come from when a server set none: the Server object's defaults, then this project's policy.
import type { Lwm2mPath } from '../model.js';
import type { AttributeStore, NotificationAttributes } from './attributes.js';

/**
 * The project's defaults on top of LwM2M. The spec's own fallback (pmin 0, no pmax) lets a chatty
 * resource flood a constrained link, so we default to pmin 5 min and pmax 6 h, and let objects that need
 * faster feedback (Firmware Update state during an update) have their own.
 */
export interface NotifyPolicy {
  /** Used for objects without an entry in `objects`. Periods in seconds. */
  readonly defaults: Readonly<NotificationAttributes>;
  /** Per object id: replaces the named attributes of `defaults` for that object. */
  readonly objects?: Readonly<Record<number, Readonly<NotificationAttributes>>>;
}

export const DEFAULT_NOTIFY_POLICY: NotifyPolicy = Object.freeze({
  defaults: Object.freeze({ pmin: 300, pmax: 21600 }),
  objects: Object.freeze({ 5: Object.freeze({ pmin: 30 }) }),
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
