// The simulated device's objects: generated Device, Firmware Update and Config classes with the runtime's standard behaviour, plus the simulation.
import { readFile } from 'node:fs/promises';
import {
  FileStorage, FirmwareResult, FirmwareState, MemoryStorage, ValueError, systemClock, withConfigBehaviour, withDeviceBehaviour,
  withFirmwareUpdate, type Clock, type ConfigApplyFailure, type ConfigSetting, type DownloadOptions, type ExecuteArguments,
  type FirmwarePersistence, type TimerHandle,
} from 'lwm2m-gen/runtime';
import { DeviceBase, DeviceBatteryStatusValues } from '../../generated/device.js';
import { FirmwareUpdateBase } from '../../generated/firmware-update.js';
import { ConfigBase } from '../../generated/config.js';

export const INITIAL_FIRMWARE = '1.0.0';
const MEMORY_TOTAL_KIB = 65_536;

export interface SimDeviceOptions {
  readonly clock: Clock;
  readonly wallClock: () => number;
  readonly serial: string;
  readonly binding: string;
  readonly onReboot: (reason: string) => void | Promise<void>;
  readonly onFactoryReset: () => void | Promise<void>;
}

/**
 * Device /3: identity, a battery that drains and recharges, memory that comes and goes. The runtime's Device
 * behaviour gives it the ticking Current Time, the UTC Offset/Timezone checks, the Error Code list and Reboot/
 * Factory Reset after the response; the class says only what rebooting and resetting mean here.
 */
export class SimDevice extends withDeviceBehaviour(DeviceBase, { factoryUtcOffset: 'UTC+00:00', factoryTimezone: 'Etc/UTC' }) {
  readonly #o: SimDeviceOptions;
  #step = 0;

  constructor(o: SimDeviceOptions) {
    super(0, {
      manufacturer: 'lwm2m-gen', modelNumber: 'simple-device', serialNumber: o.serial, firmwareVersion: INITIAL_FIRMWARE,
      availablePowerSources: [1, 5], powerSourceVoltage: [3800, 5000], powerSourceCurrent: [120, 0],
      batteryLevel: 100, batteryStatus: DeviceBatteryStatusValues.Normal, memoryTotal: MEMORY_TOTAL_KIB, memoryFree: 40_000,
      utcOffset: 'UTC+00:00', timezone: 'Etc/UTC', supportedBindingAndModes: o.binding, deviceType: 'simulator',
      hardwareVersion: 'sim-1', softwareVersion: '0.1.0',
    });
    this.#o = o;
    this.behaviour.configure({ clock: o.clock, wallClock: o.wallClock });
  }

  reboot(_args: ExecuteArguments): Promise<void> | void {
    return this.#o.onReboot('reboot');
  }

  override factoryReset(_args: ExecuteArguments): Promise<void> | void {
    return this.#o.onFactoryReset();
  }

  /** One step of the simulation: the battery drains 1 % (charging from 10 % back to 100 %), free memory wanders. */
  simulate(): void {
    this.#step++;
    const level = this.batteryLevel ?? 100;
    const charging = this.batteryStatus === DeviceBatteryStatusValues.Charging;
    if (charging) {
      const next = Math.min(100, level + 5);
      this.batteryLevel = next;
      if (next === 100) this.batteryStatus = DeviceBatteryStatusValues.ChargeComplete;
      if (next > 20) this.behaviour.errors.remove(1);
    } else {
      const next = Math.max(0, level - 1);
      this.batteryLevel = next;
      if (next <= 20) {
        // Error code 1 is "low battery" in the Device object's definition.
        this.behaviour.errors.add(1);
        this.batteryStatus = DeviceBatteryStatusValues.LowBattery;
      }
      if (next <= 10) this.batteryStatus = DeviceBatteryStatusValues.Charging;
    }
    this.memoryFree = Math.round(30_000 + 10_000 * Math.sin(this.#step / 5));
  }

  /** Back to the state the device starts in, as after a reboot. */
  resetSimulation(): void {
    this.#step = 0;
    this.batteryLevel = 100;
    this.batteryStatus = DeviceBatteryStatusValues.Normal;
    this.memoryFree = 40_000;
    this.behaviour.errors.clear();
  }
}

export interface SimFirmwareOptions {
  readonly device: SimDevice;
  readonly log: (line: string) => void;
  /** Runs once an installed package is in effect (State Idle, Update Result 1): a real device restarts into it. */
  readonly onInstalled: () => void | Promise<void>;
  /** Options of pulls from Package URI (short timeouts in tests). */
  readonly download?: DownloadOptions;
  /** Keeps the package in this file instead of memory (with --state: a Downloaded package survives a restart). */
  readonly packageFile?: string;
  /** Where State, Update Result and the package's name survive a restart (with --state: a section of the device's store). */
  readonly persist?: FirmwarePersistence;
}

/** The version a simulated package declares (`version=X` in its first 256 bytes), if any. */
function versionIn(image: Uint8Array): string | undefined {
  return /version=([\w.-]{1,32})/.exec(new TextDecoder().decode(image.subarray(0, 256)))?.[1];
}

/**
 * Firmware Update /5 through the runtime's firmware component (push to Package or pull from Package URI, the
 * state machine, PkgName/PkgVersion): the package goes to memory, "installing" takes its declared version
 * (or a counter) as the device's Firmware Version, then the device restarts.
 */
export class SimFirmware extends withFirmwareUpdate(FirmwareUpdateBase) {
  readonly storage: MemoryStorage | FileStorage;

  constructor(o: SimFirmwareOptions) {
    const storage = o.packageFile !== undefined ? new FileStorage(o.packageFile) : new MemoryStorage();
    const bytes = async (): Promise<Uint8Array> => (storage instanceof MemoryStorage ? storage.bytes() : readFile(storage.path).catch(() => new Uint8Array(0)));
    let installs = 0;
    super(0, {
      storage,
      maxPackageSize: 1 << 20,
      describe: async () => {
        const version = versionIn(await bytes());
        return version === undefined ? { name: 'simple-device' } : { name: 'simple-device', version };
      },
      apply: async () => {
        installs++;
        const version = versionIn(await bytes()) ?? `1.0.${installs}`;
        o.device.firmwareVersion = version;
        o.log(`firmware updated to ${version}`);
      },
      ...(o.download ? { download: o.download } : {}),
      ...(o.persist ? { persist: o.persist } : {}),
    });
    this.storage = storage;
    this.updater.on('state', ({ state, result }) => {
      o.log(`firmware state ${state}, result ${result}`);
      if (state === FirmwareState.Idle && result === FirmwareResult.Success) void o.onInstalled();
    });
    this.updater.on('error', (e) => o.log(`firmware error: ${e.message}`));
  }
}

/** The settings the simulated device knows, with their checks: a Config Apply goes through these. */
export const SETTINGS: Readonly<Record<string, (value: string) => boolean>> = {
  telemetryInterval: (v) => /^\d{1,4}$/.test(v) && Number(v) >= 1 && Number(v) <= 3600,
  logLevel: (v) => ['debug', 'info', 'warn', 'error'].includes(v),
  deviceName: (v) => v.length > 0 && v.length <= 64,
};
export const DEFAULT_SETTINGS: Readonly<Record<string, string>> = { telemetryInterval: '10', logLevel: 'info', deviceName: 'simple-device' };

export interface SimConfigOptions {
  /** The device's settings, shared by every Config instance. */
  readonly settings: Map<string, string>;
  readonly onApplied: (setting: ConfigSetting) => void;
  readonly onApplyFailed: (failure: ConfigApplyFailure) => void;
}

/** Config /26241: the runtime stages Name and Value and runs Apply; the class checks and stores a setting. */
export class SimConfig extends withConfigBehaviour(ConfigBase) {
  readonly settings: Map<string, string>;
  readonly #o: SimConfigOptions;

  constructor(o: SimConfigOptions, instanceId = 0) {
    super(instanceId, { name: 'telemetryInterval', value: o.settings.get('telemetryInterval') ?? DEFAULT_SETTINGS.telemetryInterval! });
    this.settings = o.settings;
    this.#o = o;
  }

  applySetting(name: string, value: string): void {
    const check = SETTINGS[name];
    if (!check) throw new ValueError(`unknown setting "${name}"`, this.path(2));
    if (!check(value)) throw new ValueError(`"${value}" is not a valid value for ${name}`, this.path(2));
    this.settings.set(name, value);
  }

  override onApplied(setting: ConfigSetting): void {
    this.#o.onApplied(setting);
  }

  override onApplyFailed(failure: ConfigApplyFailure): void {
    this.#o.onApplyFailed(failure);
  }
}

/** A repeating timer on a Clock (the runtime's Clock has setTimeout only). */
export class Ticker {
  readonly #clock: Clock;
  readonly #fn: () => void;
  #ms: number;
  #timer: TimerHandle | undefined;

  constructor(fn: () => void, ms: number, clock: Clock = systemClock) {
    this.#fn = fn;
    this.#ms = ms;
    this.#clock = clock;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.start();
      this.#fn();
    }, this.#ms);
  }

  /** Takes a new period from the next tick on. */
  set period(ms: number) {
    this.#ms = ms;
    if (this.#timer !== undefined) {
      this.stop();
      this.start();
    }
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
