// The class types runtime mixins (withDeviceBehaviour, withConfigBehaviour, withFirmwareUpdate) take and return.
import type { ObjectInstance } from './instance.js';

/** A class whose instances are ObjectInstances: what the generator makes (DeviceBase, ConfigBase, …). */
export type InstanceClass<T extends ObjectInstance = ObjectInstance> = abstract new (...args: never[]) => T;

/**
 * TypeScript's mixin constructor shape (a single `any[]` rest parameter), for the mixins' class expressions only;
 * what they return is typed exactly.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MixinBase = abstract new (...args: any[]) => ObjectInstance;

/**
 * The public face of a generated instance with standard behaviour attached: every public member of the generated
 * class, none of its abstract execute handlers (the behaviour serves them), and ObjectInstance itself.
 */
export type WithStandardBehaviour<T extends ObjectInstance> = Omit<T, never> & ObjectInstance;
