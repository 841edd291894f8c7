// The types that make lwm2m-gen/testing's requests typed by the generated classes: which members are resources, what they hold.
import type { ContentFormatNumber, NotificationAttributes, ObjectDefinition, ObjectInstance } from 'lwm2m-gen/runtime';

/**
 * A generated base class (`DeviceBase`, `FirmwareUpdateBase`, …), or a class of the app that extends one: its static
 * `model` says where requests go, its public members say which resources exist and what type each holds.
 */
export type ObjectClass<I extends ObjectInstance = ObjectInstance> =
  (abstract new (...args: never[]) => I) & { readonly model: ObjectDefinition };

// The mapped types below spell out "keys of I that ObjectInstance does not have" and "is a function" inline, so the
// reference documents every type they use.

/** The names of the value resources of an object class: its public properties (`batteryLevel`, `currentTime`, …). */
export type ResourceMember<I> = {
  [K in Exclude<keyof I, keyof ObjectInstance>]-?: NonNullable<I[K]> extends (...args: never[]) => unknown ? never : K;
}[Exclude<keyof I, keyof ObjectInstance>] & string;

/** The names of the executable resources of an object class: its public execute handlers (`reboot`, …). */
export type ExecuteMember<I> = {
  [K in Exclude<keyof I, keyof ObjectInstance>]-?: NonNullable<I[K]> extends (...args: never[]) => unknown ? K : never;
}[Exclude<keyof I, keyof ObjectInstance>] & string;

/** What a read of a resource member gives: the getter's type without `undefined`. */
export type ResourceValueOf<I, K extends keyof I> = NonNullable<I[K]>;

/** What a write of a resource accepts: its value, and for a multiple resource also an array (instances 0, 1, …). */
export type WritableValue<T> = T extends ReadonlyMap<number, infer V> ? T | readonly V[] : T;

/** The values of an instance by member name, as a read of the instance gives them (absent resources left out). */
export type InstanceValues<I> = { [K in ResourceMember<I>]?: NonNullable<I[K]> };

/** The values a write or create of an instance takes by member name. */
export type InstanceInput<I> = { [K in ResourceMember<I>]?: WritableValue<NonNullable<I[K]>> };

/** Options of every request that carries or asks for a payload. */
export interface FormatOptions {
  /**
   * The content format: the Accept option of a read or observe (absent: the device chooses), the Content-Format of a
   * write or create (absent: text or opaque for one value, TLV otherwise).
   */
  readonly format?: ContentFormatNumber;
}

/** Options of a write: the format, and whether it replaces (PUT) or updates (POST, partial) the target. */
export interface WriteOptions extends FormatOptions {
  /** `replace` (PUT, the default) sets the target to exactly what is sent; `update` (POST) merges it in. */
  readonly mode?: 'replace' | 'update';
}

/** Options of a create: the format and the id of the new instance (absent: the device picks one). */
export interface CreateOptions extends FormatOptions {
  readonly instanceId?: number;
}

/** Execute arguments: the raw text (`0='on',1`) or by argument number, a `null` value for an argument without one. */
export type ExecuteArgumentsInput = string | Readonly<Record<number, string | null>>;

/** Write-Attributes: the attributes to set, and `null` for those to remove. */
export type AttributesInput = { readonly [K in keyof NotificationAttributes]?: number | null };
