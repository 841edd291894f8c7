// The CoRE link lists the client writes: its objects for Register/Update, and the Discover answer with attributes.
import { formatPath, type Lwm2mPath, type ObjectDefinition } from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import type { ObjectRegistry } from './registry.js';

/** Attributes of one link as name/value pairs; a value of undefined writes the bare name (e.g. `obs`). */
export type DiscoverAttributes = ReadonlyArray<readonly [string, string | number | undefined]>;

/** Objects the Register payload never lists: Security (0) and OSCORE (21) stay between client and bootstrap. */
const UNLISTED_OBJECTS = new Set([0, 21]);

function attrValue(v: string | number): string {
  if (typeof v === 'number') return String(v);
  // RFC 6690: a value that is not a ptoken must be quoted; quotes and backslashes escaped inside.
  return /^[!#$%&'()*+\-.:<=>?@[\]^_`{|}~A-Za-z0-9]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

function link(target: string, attrs: DiscoverAttributes): string {
  let s = `<${target}>`;
  for (const [name, value] of attrs) s += value === undefined ? `;${name}` : `;${name}=${attrValue(value)}`;
  return s;
}

function versionAttrs(def: ObjectDefinition): DiscoverAttributes {
  return def.objectVersion && def.objectVersion !== '1.0' ? [['ver', def.objectVersion]] : [];
}

export interface RegistrationLinkOptions {
  /** The Content-Format the client prefers, announced as `ct` on the root link. */
  readonly contentFormat?: number;
  /** Extra instances to leave out (none by default). */
  readonly exclude?: (objectId: number) => boolean;
}

/**
 * The Register/Update payload: `</>;rt="oma.lwm2m";ct=…` then, by ascending id, each object's instances
 * (`</3/0>`) or the bare object when it has none (`</5>`); an object whose version is not 1.0 gets its own
 * `</3>;ver=1.1` link before its instances.
 */
export function registrationLinks(registry: ObjectRegistry, options: RegistrationLinkOptions = {}): string {
  // rt must stay quoted whatever attrValue thinks of it: servers match the quoted form.
  const parts = [`</>;rt="oma.lwm2m"${options.contentFormat !== undefined ? `;ct=${options.contentFormat}` : ''}`];
  for (const entry of registry.objects()) {
    const def = entry.definition;
    if (UNLISTED_OBJECTS.has(def.id) || options.exclude?.(def.id)) continue;
    const ver = versionAttrs(def);
    const instances = registry.instances(def.id);
    if (instances.length === 0 || ver.length > 0) parts.push(link(`/${def.id}`, ver));
    for (const inst of instances) parts.push(link(`/${def.id}/${inst.instanceId}`, []));
  }
  return parts.join(',');
}

export interface DiscoverInput {
  readonly target: Lwm2mPath;
  readonly definition: ObjectDefinition;
  readonly instances: ReadonlyArray<{ readonly instance: ObjectInstance; readonly resourceIds: readonly number[] }>;
  readonly attributes: (path: Lwm2mPath) => DiscoverAttributes;
}

/**
 * The Discover answer (LwM2M 1.1 5.4.2): the target's own link with its attributes, then the instances and
 * resources under it; a multiple resource carries `dim`, its number of resource instances.
 */
export function discoverLinks(input: DiscoverInput): string {
  const { target, definition } = input;
  const parts: string[] = [];
  if (target.instanceId === undefined) {
    parts.push(link(formatPath(target), [...versionAttrs(definition), ...input.attributes(target)]));
  }
  for (const { instance, resourceIds } of input.instances) {
    if (target.resourceId === undefined) parts.push(link(formatPath(instance.path()), input.attributes(instance.path())));
    for (const rid of resourceIds) {
      const r = definition.resource(rid);
      const p = instance.path(rid);
      const attrs: Array<readonly [string, string | number | undefined]> = [];
      if (r?.multiple && instance.hasResource(rid)) attrs.push(['dim', instance.resourceInstanceIds(rid).length]);
      attrs.push(...input.attributes(p));
      parts.push(link(formatPath(p), attrs));
    }
  }
  return parts.join(',');
}
