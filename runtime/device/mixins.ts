// Runtime mixins that give a generated Device or Config class its standard behaviour, so the app writes only what is its own.
import type { InstanceClass, MixinBase, WithStandardBehaviour } from '../object/mixin-types.js';
import { ConfigBehaviour, type ConfigApplyFailure, type ConfigSetting } from './config.js';
import { DeviceBehaviour, type DeviceBehaviourOptions } from './device.js';

/** The values a generated class's constructor takes (its second parameter). */
type ValuesOf<TBase extends InstanceClass> = ConstructorParameters<TBase> extends [number, infer V, ...unknown[]] ? V : never;
/** Those values with the members a behaviour supplies made optional. */
type SuppliedBy<V, K extends PropertyKey> = Omit<V, K & keyof V> & Partial<Pick<V, K & keyof V>>;
/**
 * Members of the generated Device class that DeviceBehaviour supplies: Error Code (/3/x/11) is its list. The name is
 * the one the generator gives resource 11 of the registry's Device (docs/naming.md); a Device whose DDF names it
 * otherwise still gets the behaviour, and its constructor then asks for the value.
 */
type DeviceSupplied = 'errorCode';

/** What withDeviceBehaviour adds. */
export interface DeviceBehaviourMembers {
  /** The attached behaviour: its `clock` (Current Time), `errors` (Error Code) and `configure`. */
  readonly behaviour: DeviceBehaviour;
}

/**
 * The generated Device class with the standard Device behaviour (DeviceBehaviour: ticking Current Time, UTC
 * Offset/Timezone checks, the Error Code list, Reboot and Factory Reset after the response). The app writes
 * its values and `reboot()` (still required: only the device knows how) and, if it has one, `factoryReset()`:
 *
 * ```ts
 * class MyDevice extends withDeviceBehaviour(DeviceBase, { factoryTimezone: 'Etc/UTC' }) {
 *   reboot() { restart(); }                     // runs after the 2.04 has been sent
 * }
 * ```
 * Per-instance options (a test clock) go through `this.behaviour.configure({ clock })`.
 */
export function withDeviceBehaviour<TBase extends InstanceClass>(Base: TBase, options: DeviceBehaviourOptions = {}): (
  abstract new (instanceId: number, values: SuppliedBy<ValuesOf<TBase>, DeviceSupplied>) => InstanceType<TBase> & DeviceBehaviourMembers
) {
  abstract class WithDeviceBehaviour extends (Base as unknown as MixinBase) {
    readonly behaviour: DeviceBehaviour;
    constructor(...args: never[]) {
      super(...args);
      this.behaviour = new DeviceBehaviour(this, (id) => this.markChanged(id), options);
    }
  }
  return WithDeviceBehaviour as unknown as abstract new (instanceId: number, values: SuppliedBy<ValuesOf<TBase>, DeviceSupplied>) => InstanceType<TBase> & DeviceBehaviourMembers;
}

/** What withConfigBehaviour adds, and the one method it asks of the app. */
export abstract class ConfigBehaviourMembers {
  /** The attached behaviour: the setting in effect (`name`, `value`) and the one `staged`. */
  declare readonly behaviour: ConfigBehaviour;
  /** Puts a setting into effect; throw (ValueError: 4.00) to refuse it. Apply (/x/2) calls it with the staged pair. */
  abstract applySetting(name: string, value: string): void | Promise<void>;
  /** Told after a successful Apply. */
  onApplied?(setting: ConfigSetting): void;
  /** Told after a refused Apply, with the code it answered. */
  onApplyFailed?(failure: ConfigApplyFailure): void;
}

/**
 * The generated Config class with the standard Config behaviour (ConfigBehaviour: Name and Value writes stage,
 * Apply puts the staged setting into effect). The values given to the constructor are the setting in effect at
 * start; the app writes `applySetting`:
 *
 * ```ts
 * class MyConfig extends withConfigBehaviour(ConfigBase) {
 *   applySetting(name: string, value: string) { settings.set(name, value); }
 * }
 * new MyConfig(0, { name: 'logLevel', value: 'info' });
 * ```
 */
export function withConfigBehaviour<TBase extends InstanceClass>(Base: TBase): (
  abstract new (...args: ConstructorParameters<TBase>) => WithStandardBehaviour<InstanceType<TBase>> & ConfigBehaviourMembers
) {
  abstract class WithConfigBehaviour extends (Base as unknown as MixinBase) {
    readonly behaviour: ConfigBehaviour;
    constructor(...args: never[]) {
      super(...args);
      const self = this as unknown as ConfigBehaviourMembers;
      this.behaviour = new ConfigBehaviour(this, (id) => this.markChanged(id), {
        apply: (name, value) => self.applySetting(name, value),
        onApplied: (setting) => self.onApplied?.(setting),
        onApplyFailed: (failure) => self.onApplyFailed?.(failure),
      });
    }
  }
  return WithConfigBehaviour as unknown as abstract new (...args: ConstructorParameters<TBase>) => WithStandardBehaviour<InstanceType<TBase>> & ConfigBehaviourMembers;
}
