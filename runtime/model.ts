// The one object model: the generator produces it from DDF XML, generated code embeds it, the runtime consumes it.

/** LwM2M resource data types as the DDF names them; `none` is the type of executable resources. */
export type ResourceType =
  | 'String'
  | 'Integer'
  | 'Unsigned Integer'
  | 'Float'
  | 'Boolean'
  | 'Opaque'
  | 'Time'
  | 'Objlnk'
  | 'Corelnk'
  | 'none';

export const RESOURCE_TYPES: readonly ResourceType[] = [
  'String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk', 'none',
];

/** Operations of a resource as the DDF spells them; '' is a resource no operation reaches (rare, seen in the registry). */
export type Operations = '' | 'R' | 'W' | 'RW' | 'E';

/** A numeric bound: a number where it is a safe integer or a decimal, a bigint beyond 2^53. */
export type Bound = number | bigint;

/** The bounds of an LwM2M Integer (signed 64-bit) and Unsigned Integer (64-bit): written once for checks and codecs. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** One member of an enumeration: a single value (`to` absent), an interval, or a string value. */
export type EnumMember =
  | { readonly value: Bound; readonly to?: Bound; readonly label?: string }
  | { readonly value: string; readonly label?: string };

/**
 * The typed form of a DDF RangeEnumeration.
 * - interval: numeric bounds on a numeric resource (`0..100`, `-90.0..90.0`, `8-bit`);
 * - length: byte length bounds of a String, Opaque or Corelnk value (`0..255 bytes`, `32`);
 * - enum: a list of allowed values or intervals, optionally labelled (`0,1,2`, `0..247, 255`, `0: IDLE`);
 * - unparsed: text the generator could not read; kept for documentation, never enforced.
 */
export type Range =
  | { readonly kind: 'interval'; readonly min?: Bound; readonly max?: Bound; readonly text: string }
  | {
    readonly kind: 'length';
    readonly min: number;
    readonly max: number;
    /** The only lengths allowed, when the DDF lists them (`16,32,48`, `0 or 26 bytes`). */
    readonly values?: readonly number[];
    readonly text: string;
  }
  | { readonly kind: 'enum'; readonly members: readonly EnumMember[]; readonly text: string }
  | { readonly kind: 'unparsed'; readonly text: string };

export interface ResourceModel {
  readonly id: number;
  readonly name: string;
  readonly operations: Operations;
  readonly type: ResourceType;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly range?: Range;
  readonly units?: string;
  readonly description?: string;
}

export interface ObjectModel {
  readonly id: number;
  readonly name: string;
  readonly urn: string;
  /** Object version, "1.0" when the DDF has none. */
  readonly objectVersion: string;
  /** LwM2M enabler version the object was written for, "1.0" when the DDF has none. */
  readonly lwm2mVersion: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: readonly ResourceModel[];
  readonly description?: string;
}

/** An ObjectModel with the lookups the runtime needs, made once per object by defineObject. */
export interface ObjectDefinition extends ObjectModel {
  readonly resourcesById: ReadonlyMap<number, ResourceModel>;
  resource(resourceId: number): ResourceModel | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Freezes a model and adds lookups; generated modules call this for their model constant. */
export function defineObject<const M extends ObjectModel>(model: M): M & ObjectDefinition {
  const byId = new Map<number, ResourceModel>();
  for (const r of model.resources) byId.set(r.id, r);
  // Resources in ascending id order, whoever wrote the model: reads and link lists rely on it.
  const resources = Object.freeze([...model.resources].sort((a, b) => a.id - b.id)) as unknown as M['resources'];
  const def = {
    ...model,
    resources,
    resourcesById: byId,
    resource(resourceId: number) {
      return byId.get(resourceId);
    },
  };
  deepFreeze(model);
  return Object.freeze(def) as M & ObjectDefinition;
}

export function isReadable(r: ResourceModel): boolean {
  return r.operations === 'R' || r.operations === 'RW';
}
export function isWritable(r: ResourceModel): boolean {
  return r.operations === 'W' || r.operations === 'RW';
}
export function isExecutable(r: ResourceModel): boolean {
  return r.operations === 'E';
}

/** An LwM2M Objlnk value: a reference to an object instance (65535:65535 is the null link). */
export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

/** The value of one resource instance, by type: see valueKind() for the mapping. */
export type ResourceValue = string | number | bigint | boolean | Uint8Array | Date | ObjectLink;

/** The value of a resource: one value, or the instances of a multiple resource by resource instance id. */
export type ResourceContent = ResourceValue | ReadonlyMap<number, ResourceValue>;

/** A path in the LwM2M data model: /objectId[/instanceId[/resourceId[/resourceInstanceId]]]. */
export interface Lwm2mPath {
  readonly objectId: number;
  readonly instanceId?: number;
  readonly resourceId?: number;
  readonly resourceInstanceId?: number;
}

export function formatPath(p: Lwm2mPath): string {
  let s = `/${p.objectId}`;
  if (p.instanceId !== undefined) s += `/${p.instanceId}`;
  if (p.resourceId !== undefined) s += `/${p.resourceId}`;
  if (p.resourceInstanceId !== undefined) s += `/${p.resourceInstanceId}`;
  return s;
}

/** Parses "/3/0/1" (leading slash optional); returns undefined for anything that is not a valid path. */
export function parsePath(text: string): Lwm2mPath | undefined {
  const parts = text.replace(/^\//, '').split('/');
  if (parts.length === 0 || parts.length > 4 || parts[0] === '') return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,5}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 65535) return undefined;
    nums.push(n);
  }
  const [objectId, instanceId, resourceId, resourceInstanceId] = nums;
  const path: { objectId: number; instanceId?: number; resourceId?: number; resourceInstanceId?: number } = {
    objectId: objectId!,
  };
  if (instanceId !== undefined) path.instanceId = instanceId;
  if (resourceId !== undefined) path.resourceId = resourceId;
  if (resourceInstanceId !== undefined) path.resourceInstanceId = resourceInstanceId;
  return path;
}
