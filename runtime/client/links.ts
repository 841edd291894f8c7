// The CoRE link lists the client writes: its objects for Register/Update, and the Discover answer with attributes.
import { formatLinks, type Link } from '../codec/index.js';
import { formatPath, type Lwm2mPath, type ObjectDefinition } from '../model.js';
import type { ObjectInstance } from '../object/instance.js';
import type { ObjectRegistry } from './registry.js';

/** Attributes of one link as name/value pairs; a value of undefined writes the bare name (e.g. `obs`). */
export type DiscoverAttributes = Link['attributes'];

/** Objects the Register payload never lists: Security (0) and OSCORE (21) stay between client and bootstrap. */
const UNLISTED_OBJECTS = new Set([0, 21]);

function versionAttrs(def: ObjectDefinition): DiscoverAttributes {
  return def.objectVersion && def.objectVersion !== '1.0' ? [['ver', def.objectVersion]] : [];
}

export interface RegistrationLinkOptions {
  /** The Content-Format the client prefers, announced as `ct` on the root link. */
  readonly contentFormat?: number;
  /** Objects to leave out besides Security and OSCORE (none by default). */
  readonly exclude?: (objectId: number) => boolean;
}

/**
 * The Register/Update payload: `</>;rt="oma.lwm2m";ct=…` then, by ascending id, each object's instances
 * (`</3/0>`) or the bare object when it has none (`</5>`); an object whose version is not 1.0 gets its own
 * `</3>;ver=1.1` link before its instances.
 */
export function registrationLinks(registry: ObjectRegistry, options: RegistrationLinkOptions = {}): string {
  const root: Array<readonly [string, string | number]> = [['rt', 'oma.lwm2m']];
  if (options.contentFormat !== undefined) root.push(['ct', options.contentFormat]);
  const parts: Link[] = [{ target: '/', attributes: root }];
  for (const entry of registry.objects()) {
    const def = entry.definition;
    if (UNLISTED_OBJECTS.has(def.id) || options.exclude?.(def.id)) continue;
    const ver = versionAttrs(def);
    const instances = registry.instances(def.id);
    if (instances.length === 0 || ver.length > 0) parts.push({ target: `/${def.id}`, attributes: ver });
    for (const inst of instances) parts.push({ target: `/${def.id}/${inst.instanceId}`, attributes: [] });
  }
  return formatLinks(parts);
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
  const parts: Link[] = [];
  if (target.instanceId === undefined) {
    parts.push({ target: formatPath(target), attributes: [...versionAttrs(definition), ...input.attributes(target)] });
  }
  for (const { instance, resourceIds } of input.instances) {
    if (target.resourceId === undefined) {
      parts.push({ target: formatPath(instance.path()), attributes: input.attributes(instance.path()) });
    }
    for (const rid of resourceIds) {
      const r = definition.resource(rid);
      const p = instance.path(rid);
      const attrs: Array<readonly [string, string | number | undefined]> = [];
      if (r?.multiple && instance.hasResource(rid)) attrs.push(['dim', instance.resourceInstanceIds(rid).length]);
      attrs.push(...input.attributes(p));
      parts.push({ target: formatPath(p), attributes: attrs });
    }
  }
  return formatLinks(parts);
}

/** Links texts in use, so the clients of a fleet (alike devices) keep one copy of theirs; bounded. */
const linksTexts = new Map<string, string>();

/** The one copy of a links text kept for every client that has the same one (alike devices of a fleet). */
export function internLinks(text: string): string {
  const known = linksTexts.get(text);
  if (known !== undefined) return known;
  if (linksTexts.size >= 256) linksTexts.delete(linksTexts.keys().next().value!);
  linksTexts.set(text, text);
  return text;
}
