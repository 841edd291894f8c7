// The Firmware Update (/5) state machine and its persistence: State, Update Result and package info, published and saved on every move.
import { MethodNotAllowedError } from '../errors.js';
import type { ObjectInstance } from '../object/instance.js';
import { DownloadError, parsePackageUri } from './download.js';
import {
  FirmwareFailure, FirmwareProtocolCode, FirmwareResult, FirmwareState,
  type FirmwareEvents, type FirmwareProtocol, type FirmwareResultValue, type FirmwareStateValue,
  type FirmwareUpdateOptions, type PersistedFirmwareState,
} from './types.js';

/** Resource ids of object 5 the component drives. */
export const R = {
  Package: 0, PackageUri: 1, Update: 2, State: 3, UpdateResult: 5, PkgName: 6, PkgVersion: 7,
  ProtocolSupport: 8, DeliveryMethod: 9, Cancel: 10, LastStateChangeTime: 12,
} as const;
const PUSH_OR_PULL = 2;
const DEFAULT_PROTOCOLS: readonly FirmwareProtocol[] = ['coap', 'coap+tcp', 'http', 'https'];

/**
 * ObjectInstance keeps setResource/clearResource protected for device code. This component *is* the device
 * code of /5 but is composed rather than inherited (the generated class already extends ObjectInstance), so
 * it reaches them through this one narrow view.
 */
interface DeviceFace {
  setResource(resourceId: number, content: unknown): void;
}

/** The Update Result of an app failure: its own when it says (FirmwareFailure), else the step's default. */
export function resultOf(e: unknown, fallback: FirmwareResultValue): FirmwareResultValue {
  return e instanceof FirmwareFailure ? e.result : fallback;
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** How the machine tells the updater's listeners (the updater is the project's TypedEmitter). */
export type Emit = <K extends keyof FirmwareEvents>(event: K, value: FirmwareEvents[K]) => void;

/** One /5 instance's state and what is in flight; push.ts and pull.ts move it, the updater routes the app's calls to them. */
export class FirmwareMachine {
  readonly protocols: readonly FirmwareProtocol[];
  readonly #device: DeviceFace;
  readonly #now: () => number;
  state: FirmwareStateValue = FirmwareState.Idle;
  result: FirmwareResultValue = FirmwareResult.Initial;
  uri = '';
  #pkgName = '';
  #pkgVersion = '';
  #lastChange: number;
  /** Background work (download, apply, a failure being recorded). */
  job: Promise<void> = Promise.resolve();
  #saving: Promise<void> = Promise.resolve();
  /** The pull in progress. */
  abort: AbortController | undefined;
  /** The push in progress. */
  push: { aborted: boolean } | undefined;

  constructor(
    readonly instance: ObjectInstance,
    readonly o: FirmwareUpdateOptions,
    readonly emit: Emit,
  ) {
    if (instance.definition.id !== 5) throw new TypeError(`attachFirmwareUpdate needs a /5 instance, got /${instance.definition.id}`);
    if (!(o.maxPackageSize > 0)) throw new RangeError('maxPackageSize must be positive');
    this.#device = instance as unknown as DeviceFace;
    this.protocols = o.protocols ?? DEFAULT_PROTOCOLS;
    for (const p of this.protocols) {
      if (!Object.hasOwn(FirmwareProtocolCode, p)) throw new RangeError(`unknown protocol ${p}`);
    }
    // /5/x/8 must not offer what cannot work: coaps:// has no certificate mode here, only PSK.
    if (this.protocols.includes('coaps') && !o.download?.dtls) {
      throw new TypeError('protocols lists coaps but download.dtls (the PSK) is missing');
    }
    this.#now = o.now ?? Date.now;
    this.#lastChange = this.#now();
    const d = this.#device;
    // Package is write-only but mandatory: an empty value makes it present (Discover, registration) and holds nothing.
    d.setResource(R.Package, new Uint8Array(0));
    d.setResource(R.PackageUri, '');
    d.setResource(R.ProtocolSupport, this.protocols.map((p) => FirmwareProtocolCode[p]));
    d.setResource(R.DeliveryMethod, PUSH_OR_PULL);
    this.#publish(true);
  }

  /** A failure in app code or persistence the component absorbs: told to 'error' listeners. */
  report(e: unknown): void {
    this.emit('error', asError(e));
  }

  setPackageUri(value: string): void {
    this.uri = value;
    this.#device.setResource(R.PackageUri, value);
  }

  /** The instance stores what a write hook accepted; the package lives in storage, not in memory. */
  emptyPackage(): void {
    this.#device.setResource(R.Package, new Uint8Array(0));
  }

  /** Resolves when the background work started so far (download, apply) has finished. */
  async settled(): Promise<void> {
    for (;;) {
      const job = this.job;
      await job;
      await this.#saving;
      if (job === this.job) return;
    }
  }

  #publish(stateChanged: boolean): void {
    const d = this.#device;
    d.setResource(R.State, this.state);
    d.setResource(R.UpdateResult, this.result);
    d.setResource(R.PkgName, this.#pkgName);
    d.setResource(R.PkgVersion, this.#pkgVersion);
    if (stateChanged) d.setResource(R.LastStateChangeTime, new Date(Math.floor(this.#lastChange / 1000) * 1000));
  }

  #snapshot(): PersistedFirmwareState {
    return {
      state: this.state, result: this.result, packageUri: this.uri,
      pkgName: this.#pkgName, pkgVersion: this.#pkgVersion, lastStateChange: this.#lastChange,
    };
  }

  /** Moves the state machine; resolves once the new state is persisted. */
  set(state: FirmwareStateValue, result: FirmwareResultValue): Promise<void> {
    const changed = state !== this.state;
    if (!changed && result === this.result) return this.#saving;
    if (changed) this.#lastChange = this.#now();
    this.state = state;
    this.result = result;
    if (state === FirmwareState.Idle && result !== FirmwareResult.Success) {
      this.#pkgName = '';
      this.#pkgVersion = '';
    }
    this.#publish(changed);
    this.emit('state', { state, result });
    return this.save();
  }

  save(): Promise<void> {
    const persist = this.o.persist;
    if (!persist) return this.#saving;
    const snapshot = this.#snapshot();
    this.#saving = this.#saving.then(() => persist.save(snapshot)).catch((e: unknown) => this.report(e));
    return this.#saving;
  }

  /** Restores persisted state; an interrupted pull is resumed with `resumePull`, an interrupted push or apply ends. */
  async restore(resumePull: (url: URL) => void): Promise<void> {
    const persist = this.o.persist;
    if (!persist) return;
    let saved: PersistedFirmwareState | undefined;
    try {
      saved = await persist.load();
    } catch (e) {
      this.report(e);
      return;
    }
    if (!saved) return;
    this.uri = saved.packageUri;
    this.#pkgName = saved.pkgName;
    this.#pkgVersion = saved.pkgVersion;
    this.#lastChange = saved.lastStateChange;
    this.state = saved.state;
    this.result = saved.result;
    this.#device.setResource(R.PackageUri, saved.packageUri);
    this.#publish(true);
    if (saved.state === FirmwareState.Updating) {
      // We went down inside apply(): the device either came up on the new image or fell back.
      let booted = true;
      try {
        booted = this.o.bootedNewFirmware ? await this.o.bootedNewFirmware() : true;
      } catch (e) {
        this.report(e);
        booted = false;
      }
      if (booted) await this.set(FirmwareState.Idle, FirmwareResult.Success);
      else await this.fail(FirmwareResult.UpdateFailed);
    } else if (saved.state === FirmwareState.Downloading) {
      if (saved.packageUri === '') {
        // A push cannot resume: the server must push again.
        await this.fail(FirmwareResult.ConnectionLost);
      } else {
        let url: URL;
        try {
          url = parsePackageUri(saved.packageUri, this.protocols);
        } catch (e) {
          await this.fail(e instanceof DownloadError ? e.result : FirmwareResult.InvalidUri);
          return;
        }
        resumePull(url);
      }
    }
  }

  /** Back to Idle with `result`, the package dropped and any transfer stopped. */
  async reset(result: FirmwareResultValue): Promise<void> {
    if (this.state === FirmwareState.Updating) {
      throw new MethodNotAllowedError('an update is being applied', this.instance.path(R.State));
    }
    this.abort?.abort();
    this.abort = undefined;
    if (this.push) {
      this.push.aborted = true;
      this.push = undefined;
    }
    this.setPackageUri('');
    await this.fail(result);
  }

  async fail(result: FirmwareResultValue): Promise<void> {
    try {
      await this.o.storage.discard();
    } catch (e) {
      this.report(e);
    }
    await this.set(FirmwareState.Idle, result);
  }

  async apply(): Promise<void> {
    try {
      await this.o.apply(this.o.storage);
    } catch (e) {
      this.report(e);
      await this.fail(resultOf(e, FirmwareResult.UpdateFailed));
      return;
    }
    await this.set(FirmwareState.Idle, FirmwareResult.Success);
  }

  /** A complete package: verify it, describe it, and report Downloaded (or Idle with 5 when it fails the check). */
  async downloaded(aborted: () => boolean): Promise<void> {
    const o = this.o;
    let failed: FirmwareResultValue | undefined;
    if (o.verify) {
      try {
        if (!(await o.verify(o.storage))) failed = FirmwareResult.IntegrityCheckFailure;
      } catch (e) {
        this.report(e);
        failed = resultOf(e, FirmwareResult.IntegrityCheckFailure);
      }
    }
    if (aborted()) return;
    if (failed !== undefined) {
      await this.fail(failed);
      return;
    }
    if (o.describe) {
      try {
        const info = await o.describe(o.storage);
        this.#pkgName = info.name ?? '';
        this.#pkgVersion = info.version ?? '';
      } catch (e) {
        this.report(e);
      }
    }
    if (aborted()) return;
    await this.set(FirmwareState.Downloaded, FirmwareResult.Initial);
  }
}
