// Shared test fixtures: the app's Firmware class as a device would write it, an in-memory persistence, a digest check.
import { createHash } from 'node:crypto';
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import {
  MemoryStorage, withFirmwareUpdate,
  type FirmwarePersistence, type FirmwareUpdateOptions, type PersistedFirmwareState,
} from '../../../runtime/firmware/index.js';

/** The one documented pattern: the generated class with the runtime's updater, nothing forwarded. */
export class Firmware extends withFirmwareUpdate(FirmwareUpdateBase) {
  constructor(options: FirmwareUpdateOptions) {
    super(0, options);
  }
}

export class MemoryPersistence implements FirmwarePersistence {
  saved: PersistedFirmwareState | undefined;
  readonly history: PersistedFirmwareState[] = [];
  load(): PersistedFirmwareState | undefined {
    return this.saved;
  }
  save(state: PersistedFirmwareState): void {
    this.saved = state;
    this.history.push(state);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A package of `n` bytes with a recognisable pattern. */
export function makePackage(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export interface FirmwareRig {
  fw: Firmware;
  storage: MemoryStorage;
  applied: number;
  states: Array<[number, number]>;
}

/** A device whose verify() compares the SHA-256 of the stored package with `digest` (when given). */
export function firmwareRig(over: Partial<Omit<FirmwareUpdateOptions, 'storage'>> & { digest?: string; storage?: MemoryStorage } = {}): FirmwareRig {
  const { digest, storage: given, ...rest } = over;
  const storage = given ?? new MemoryStorage();
  const rig: FirmwareRig = { fw: undefined as unknown as Firmware, storage, applied: 0, states: [] };
  rig.fw = new Firmware({
    storage,
    maxPackageSize: 64 * 1024,
    apply: () => { rig.applied++; },
    ...(digest !== undefined ? { verify: () => sha256(storage.bytes()) === digest } : {}),
    download: { retries: 2, retryDelayMs: 0, idleTimeoutMs: 2000, coap: { ackTimeout: 40, maxRetransmit: 1, ackRandomFactor: 1 } },
    ...rest,
  });
  rig.fw.updater.on('state', (s) => rig.states.push([s.state, s.result]));
  return rig;
}
