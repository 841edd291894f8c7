// withFirmwareUpdate: the generated Firmware Update class with the runtime's updater attached, so the app forwards nothing.
import type { InstanceClass, MixinBase, WithStandardBehaviour } from '../object/mixin-types.js';
import type { FirmwareUpdateOptions } from './types.js';
import { FirmwareUpdater } from './updater.js';

/** What withFirmwareUpdate adds. */
export interface FirmwareUpdateMembers {
  /** The state machine behind /5: push, pull, Update, Cancel, events (`on('state')`), `ready`, `settled()`. */
  readonly updater: FirmwareUpdater;
}

/** The class withFirmwareUpdate returns: constructed with the instance id and the updater's options. */
export type FirmwareUpdateClass<T extends InstanceClass> =
  new (instanceId: number, options: FirmwareUpdateOptions) => WithStandardBehaviour<InstanceType<T>> & FirmwareUpdateMembers;

/**
 * The generated Firmware Update class with the standard Firmware Update behaviour: Package and Package URI writes,
 * Update and Cancel go to a FirmwareUpdater (see runtime/firmware/README.md); the app gives its storage and what
 * installing means:
 *
 * ```ts
 * class MyFirmware extends withFirmwareUpdate(FirmwareUpdateBase) {}
 * const fw = new MyFirmware(0, { storage: new FileStorage(dir), maxPackageSize: 1 << 20, apply: (s) => install(s) });
 * client.addInstance(fw).streamWrites(5, 0, (_inst, start) => fw.updater.openBlock1(start));   // streamed pushes
 * ```
 */
export function withFirmwareUpdate<TBase extends InstanceClass>(Base: TBase): FirmwareUpdateClass<TBase> {
  class WithFirmwareUpdate extends (Base as unknown as MixinBase) {
    readonly updater: FirmwareUpdater;
    constructor(instanceId: number, options: FirmwareUpdateOptions) {
      // The updater sets the values the generated constructor asks for (Package URI, State, Update Result, Delivery Method).
      super(instanceId, {});
      this.updater = new FirmwareUpdater(this, options);
    }
  }
  return WithFirmwareUpdate as unknown as FirmwareUpdateClass<TBase>;
}
