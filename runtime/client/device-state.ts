// What a DeviceClient keeps in the persistent store: /0 and /1, each server's session, and the app's writable values when it opts in.
import type { StoredValue } from '../store/types.js';
import type { PersistentState } from '../store/state.js';
import { isWritable, type Lwm2mPath, type ObjectLink, type ResourceContent, type ResourceValue } from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import type { NotificationAttributes } from '../notify/index.js';
import type { ClientSession } from './client.js';
import type { ResumedRegistration } from './registration.js';
import type { StoredObservation } from './observe.js';

/** Section names in the store. */
export const DeviceSections = Object.freeze({
  SECURITY: 'security', SERVERS: 'servers', SESSIONS: 'sessions', VALUES: 'values', BOOTSTRAP: 'bootstrap',
});

/** When the Bootstrap-Server account is due to be purged (/0/x/12), in wall-clock ms, so a restart keeps the deadline. */
export interface StoredBootstrap {
  readonly accountPurgeAt?: number;
}

type StoredInstance = { readonly instanceId: number; readonly values: readonly (readonly [number, StoredValue])[] };

function storeValue(v: ResourceValue): StoredValue {
  if (typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) return { $link: [v.objectId, v.instanceId] };
  return v;
}

function loadValue(v: StoredValue): ResourceValue {
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date) && !Array.isArray(v)) {
    const link = (v as { $link?: readonly number[] }).$link;
    if (Array.isArray(link)) return { objectId: link[0], instanceId: link[1] } as ObjectLink;
  }
  return v as ResourceValue;
}

function storeContent(c: ResourceContent): StoredValue {
  if (c instanceof Map) return { $multi: [...c].map(([k, v]) => [k, storeValue(v)] as const) };
  return storeValue(c as ResourceValue);
}

function loadContent(v: StoredValue): ResourceContent {
  const multi = v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)
    ? (v as { $multi?: readonly (readonly [number, StoredValue])[] }).$multi : undefined;
  if (Array.isArray(multi)) return new Map(multi.map(([k, x]) => [k, loadValue(x)]));
  return loadValue(v);
}

/** Instances' values for a section. */
export function storeInstances(instances: readonly { readonly instanceId: number; readonly values: ReadonlyMap<number, ResourceContent> }[]): StoredValue {
  return instances.map((i) => ({ instanceId: i.instanceId, values: [...i.values].map(([rid, c]) => [rid, storeContent(c)] as const) }));
}

/** A section's instances back; undefined when the section is absent or not that shape. */
export function loadInstances(value: StoredValue | undefined): { instanceId: number; values: Map<number, ResourceContent> }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return (value as readonly StoredInstance[]).map((i) => ({ instanceId: i.instanceId, values: new Map(i.values.map(([rid, c]) => [rid, loadContent(c)])) }));
}

interface StoredSession {
  readonly registration?: ResumedRegistration;
  readonly observations: readonly StoredObservation[];
  readonly attributes: readonly { readonly path: Lwm2mPath; readonly attributes: NotificationAttributes }[];
  readonly localPort?: number;
}

/** One server's session and the local port it used (a restarted device takes it again, so the server's notifications routes stay). */
export interface KeptSession extends ClientSession {
  readonly localPort?: number;
}

/** The sessions section, by Short Server ID. */
export function loadSessions(value: StoredValue | undefined): Map<number, KeptSession> {
  const out = new Map<number, KeptSession>();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [ssid, s] of Object.entries(value as unknown as Record<string, StoredSession>)) out.set(Number(ssid), s);
  return out;
}

export function storeSessions(sessions: ReadonlyMap<number, KeptSession>): StoredValue {
  const out: Record<string, StoredValue> = {};
  for (const [ssid, s] of sessions) out[String(ssid)] = s as unknown as StoredValue;
  return out;
}

/** The app's writable values of the objects it opted in, by "objectId/instanceId". */
export function storeWritableValues(instances: readonly ObjectInstance[]): StoredValue {
  const out: Record<string, StoredValue> = {};
  for (const inst of instances) {
    const values: (readonly [number, StoredValue])[] = [];
    for (const r of inst.definition.resources) {
      if (!isWritable(r) || !inst.hasResource(r.id)) continue;
      try {
        values.push([r.id, storeContent(inst.readResource(r.id))]);
      } catch {
        // A write-only resource has no value to keep.
      }
    }
    out[`${inst.definition.id}/${inst.instanceId}`] = values;
  }
  return out;
}

/** What restoring the app's values did: the instances restored, and those that could not be (a value the app's hooks now refuse). */
export interface RestoredValues {
  readonly restored: string[];
  readonly problems: string[];
}

/**
 * Writes stored values back into the app's instances (as a server write would, hooks included). With `create` (the
 * object's factory) an instance the server had created is made again, and one it had deleted is removed again.
 */
export async function restoreWritableValues(
  value: StoredValue | undefined,
  find: (objectId: number, instanceId: number) => ObjectInstance | undefined,
  objects: readonly { readonly objectId: number; readonly instances: () => readonly ObjectInstance[]; readonly create?: (instanceId: number) => ObjectInstance | undefined; readonly remove?: (instanceId: number) => void }[] = [],
): Promise<RestoredValues> {
  const out: RestoredValues = { restored: [], problems: [] };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  const stored = value as Record<string, readonly (readonly [number, StoredValue])[]>;
  for (const o of objects) {
    if (!o.create || !o.remove) continue;
    for (const inst of o.instances()) if (!(`${o.objectId}/${inst.instanceId}` in stored)) o.remove(inst.instanceId);
  }
  for (const [key, values] of Object.entries(stored)) {
    const [objectId, instanceId] = key.split('/').map(Number) as [number, number];
    const inst = find(objectId, instanceId) ?? objects.find((o) => o.objectId === objectId)?.create?.(instanceId);
    if (!inst || !Array.isArray(values)) continue;
    try {
      await inst.writeResources(new Map(values.map(([rid, c]) => [rid, loadContent(c)])), 'replace');
      out.restored.push(`/${key}`);
    } catch (err) {
      out.problems.push(`/${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** The sections a DeviceClient uses, on one PersistentState. */
export function deviceSections(state: PersistentState) {
  return {
    security: state.section<StoredValue>(DeviceSections.SECURITY),
    servers: state.section<StoredValue>(DeviceSections.SERVERS),
    sessions: state.section<StoredValue>(DeviceSections.SESSIONS),
    values: state.section<StoredValue>(DeviceSections.VALUES),
    bootstrap: state.section<StoredBootstrap>(DeviceSections.BOOTSTRAP),
  };
}
