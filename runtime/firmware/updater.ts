// FirmwareUpdater: drives a Firmware Update (/5) instance's state machine — push, pull, verify, apply, cancel, restart.
import { Lwm2mError, MethodNotAllowedError } from '../errors.js';
import { attachResourceBehaviour, type ObjectInstance } from '../object/instance.js';
import { deferAfterResponse, type AfterResponseTask, type ExecuteArguments } from '../object/execute-args.js';
import { DownloadError, fetcherFor, parsePackageUri, protocolOf, type ChunkSink } from './download.js';
import {
  FirmwareFailure, FirmwareProtocolCode, FirmwareResult, FirmwareState,
  type FirmwareEvents, type FirmwareProtocol, type FirmwareResultValue, type FirmwareStateValue,
  type FirmwareUpdateOptions, type PersistedFirmwareState,
} from './types.js';

/** Resource ids of object 5 the component drives. */
const R = {
  Package: 0, PackageUri: 1, Update: 2, State: 3, UpdateResult: 5, PkgName: 6, PkgVersion: 7,
  ProtocolSupport: 8, DeliveryMethod: 9, Cancel: 10, LastStateChangeTime: 12,
} as const;
const PUSH_OR_PULL = 2;
const DEFAULT_PROTOCOLS: readonly FirmwareProtocol[] = ['coap', 'coap+tcp', 'http', 'https'];

/**
 * The blocks of one pushed package (a Block1 Write to /5/x/0), in order. `write` rejects with an Lwm2mError
 * whose code the CoAP layer answers (4.13 for a package over maxPackageSize).
 */
export interface PackageSink {
  write(offset: number, bytes: Uint8Array, more: boolean): Promise<void>;
  /** The transfer ended without its last block (timed out, replaced). */
  abort(): void;
}

/**
 * ObjectInstance keeps setResource/clearResource protected for device code. This component *is* the device
 * code of /5 but is composed rather than inherited (the generated class already extends ObjectInstance), so
 * it reaches them through this one narrow view.
 */
interface DeviceFace {
  setResource(resourceId: number, content: unknown): void;
}

type Listener<K extends keyof FirmwareEvents> = (value: FirmwareEvents[K]) => void;

function isEmptyPackage(value: Uint8Array): boolean {
  // LwM2M: writing NULL ('\0') or nothing to Package resets the state machine.
  return value.length === 0 || (value.length === 1 && value[0] === 0);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) { resolve(); return; }
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** The Update Result of an app failure: its own when it says (FirmwareFailure), else the step's default. */
function resultOf(e: unknown, fallback: FirmwareResultValue): FirmwareResultValue {
  return e instanceof FirmwareFailure ? e.result : fallback;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export class FirmwareUpdater {
  readonly instance: ObjectInstance;
  /** Settles once persisted state is restored (and an interrupted pull resumed); await it before serving. */
  readonly ready: Promise<void>;
  readonly #o: FirmwareUpdateOptions;
  readonly #device: DeviceFace;
  readonly #protocols: readonly FirmwareProtocol[];
  readonly #now: () => number;
  #state: FirmwareStateValue = FirmwareState.Idle;
  #result: FirmwareResultValue = FirmwareResult.Initial;
  #uri = '';
  #pkgName = '';
  #pkgVersion = '';
  #lastChange: number;
  #job: Promise<void> = Promise.resolve();
  #saving: Promise<void> = Promise.resolve();
  #abort: AbortController | undefined;
  #push: { aborted: boolean } | undefined;
  readonly #listeners = new Map<keyof FirmwareEvents, Array<(value: never) => void>>();

  constructor(instance: ObjectInstance, options: FirmwareUpdateOptions) {
    if (instance.definition.id !== 5) throw new TypeError(`attachFirmwareUpdate needs a /5 instance, got /${instance.definition.id}`);
    if (!(options.maxPackageSize > 0)) throw new RangeError('maxPackageSize must be positive');
    this.instance = instance;
    this.#o = options;
    this.#device = instance as unknown as DeviceFace;
    this.#protocols = options.protocols ?? DEFAULT_PROTOCOLS;
    for (const p of this.#protocols) {
      if (!Object.hasOwn(FirmwareProtocolCode, p)) throw new RangeError(`unknown protocol ${p}`);
    }
    // /5/x/8 must not offer what cannot work: coaps:// has no certificate mode here, only PSK.
    if (this.#protocols.includes('coaps') && !options.download?.dtls) {
      throw new TypeError('protocols lists coaps but download.dtls (the PSK) is missing');
    }
    this.#now = options.now ?? Date.now;
    this.#lastChange = this.#now();
    const d = this.#device;
    // Package is write-only but mandatory: an empty value makes it present (Discover, registration) and holds nothing.
    d.setResource(R.Package, new Uint8Array(0));
    d.setResource(R.PackageUri, '');
    d.setResource(R.ProtocolSupport, this.#protocols.map((p) => FirmwareProtocolCode[p]));
    d.setResource(R.DeliveryMethod, PUSH_OR_PULL);
    this.#publish(true);
    // The standard behaviour by resource id: the app's class forwards nothing (see withFirmwareUpdate).
    attachResourceBehaviour(instance, R.Package, { write: (v) => this.onWritePackage(v as Uint8Array) });
    attachResourceBehaviour(instance, R.PackageUri, { write: (v) => this.onWritePackageUri(v as string) });
    attachResourceBehaviour(instance, R.Update, { execute: (args) => this.update(args) });
    if (instance.definition.resource(R.Cancel)) attachResourceBehaviour(instance, R.Cancel, { execute: (args) => this.cancel(args) });
    this.ready = this.#restore();
  }

  get state(): FirmwareStateValue {
    return this.#state;
  }
  get result(): FirmwareResultValue {
    return this.#result;
  }

  on<K extends keyof FirmwareEvents>(event: K, listener: Listener<K>): () => void {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as (value: never) => void);
    this.#listeners.set(event, list);
    return () => {
      const i = list.indexOf(listener as (value: never) => void);
      if (i >= 0) list.splice(i, 1);
    };
  }

  #emit<K extends keyof FirmwareEvents>(event: K, value: FirmwareEvents[K]): void {
    for (const l of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (l as Listener<K>)(value);
      } catch {
        // A listener's failure must not derail the state machine.
      }
    }
  }

  /** Resolves when the background work started so far (download, apply) has finished: for tests and shutdown. */
  async settled(): Promise<void> {
    for (;;) {
      const job = this.#job;
      await job;
      await this.#saving;
      if (job === this.#job) return;
    }
  }

  // ---- resource values ----

  #publish(stateChanged: boolean): void {
    const d = this.#device;
    d.setResource(R.State, this.#state);
    d.setResource(R.UpdateResult, this.#result);
    d.setResource(R.PkgName, this.#pkgName);
    d.setResource(R.PkgVersion, this.#pkgVersion);
    if (stateChanged) d.setResource(R.LastStateChangeTime, new Date(Math.floor(this.#lastChange / 1000) * 1000));
  }

  #snapshot(): PersistedFirmwareState {
    return {
      state: this.#state, result: this.#result, packageUri: this.#uri,
      pkgName: this.#pkgName, pkgVersion: this.#pkgVersion, lastStateChange: this.#lastChange,
    };
  }

  /** Moves the state machine; resolves once the new state is persisted. */
  #set(state: FirmwareStateValue, result: FirmwareResultValue): Promise<void> {
    const changed = state !== this.#state;
    if (!changed && result === this.#result) return this.#saving;
    if (changed) this.#lastChange = this.#now();
    this.#state = state;
    this.#result = result;
    if (state === FirmwareState.Idle && result !== FirmwareResult.Success) {
      this.#pkgName = '';
      this.#pkgVersion = '';
    }
    this.#publish(changed);
    this.#emit('state', { state, result });
    return this.#save();
  }

  #save(): Promise<void> {
    const persist = this.#o.persist;
    if (!persist) return this.#saving;
    const snapshot = this.#snapshot();
    this.#saving = this.#saving.then(() => persist.save(snapshot)).catch((e: unknown) => this.#emit('error', asError(e)));
    return this.#saving;
  }

  async #restore(): Promise<void> {
    const persist = this.#o.persist;
    if (!persist) return;
    let saved: PersistedFirmwareState | undefined;
    try {
      saved = await persist.load();
    } catch (e) {
      this.#emit('error', asError(e));
      return;
    }
    if (!saved) return;
    this.#uri = saved.packageUri;
    this.#pkgName = saved.pkgName;
    this.#pkgVersion = saved.pkgVersion;
    this.#lastChange = saved.lastStateChange;
    this.#state = saved.state;
    this.#result = saved.result;
    this.#device.setResource(R.PackageUri, saved.packageUri);
    this.#publish(true);
    if (saved.state === FirmwareState.Updating) {
      // We went down inside apply(): the device either came up on the new image or fell back.
      let booted = true;
      try {
        booted = this.#o.bootedNewFirmware ? await this.#o.bootedNewFirmware() : true;
      } catch (e) {
        this.#emit('error', asError(e));
        booted = false;
      }
      if (booted) await this.#set(FirmwareState.Idle, FirmwareResult.Success);
      else await this.#fail(FirmwareResult.UpdateFailed);
    } else if (saved.state === FirmwareState.Downloading) {
      if (saved.packageUri === '') {
        // A push cannot resume: the server must push again.
        await this.#fail(FirmwareResult.ConnectionLost);
      } else {
        let url: URL;
        try {
          url = parsePackageUri(saved.packageUri, this.#protocols);
        } catch (e) {
          await this.#fail(e instanceof DownloadError ? e.result : FirmwareResult.InvalidUri);
          return;
        }
        this.#startPull(url, false);
      }
    }
  }

  // ---- the behaviour attached to the instance calls these (so can the app, e.g. a local cancel) ----

  /** Write hook of Package URI (/5/x/1): '' cancels; a URI starts a pull (Update Result 7 or 9 when it cannot). */
  async onWritePackageUri(value: string): Promise<void> {
    if (value === '') {
      await this.#reset(FirmwareResult.Initial);
      return;
    }
    if (this.#state !== FirmwareState.Idle) {
      throw new MethodNotAllowedError(`Package URI is written in State Idle only (State is ${this.#state}); write '' to cancel first`, this.instance.path(R.PackageUri));
    }
    this.#uri = value;
    let url: URL;
    try {
      url = parsePackageUri(value, this.#protocols);
    } catch (e) {
      // The Write itself succeeds: errors of the update process are reported in Update Result only.
      await this.#set(FirmwareState.Idle, e instanceof DownloadError ? e.result : FirmwareResult.InvalidUri);
      return;
    }
    this.#startPull(url, true);
  }

  /** Write hook of Package (/5/x/0) for a package that came in whole (no streaming): stored, verified, Downloaded. */
  async onWritePackage(value: Uint8Array): Promise<void> {
    if (isEmptyPackage(value)) {
      await this.#reset(FirmwareResult.Initial);
      return;
    }
    const sink = await this.openPackageStream(value.length);
    await sink.write(0, value, false);
    // The instance stores what a write hook accepted; the package lives in storage, not in memory.
    setImmediate(() => this.#device.setResource(R.Package, new Uint8Array(0)));
  }

  /**
   * A pushed package, block by block (the client routes Block1 Writes of /5/x/0 here). `size1` is the
   * total size when the server announced it. Refuses with 4.05 unless State is Idle, 4.13 when too large.
   */
  async openPackageStream(size1?: number): Promise<PackageSink> {
    if (this.#push && this.#state === FirmwareState.Downloading) {
      // The server started its push over (a new block 0): the old transfer is dead.
      this.#push.aborted = true;
      this.#push = undefined;
    } else if (this.#state !== FirmwareState.Idle) {
      throw new MethodNotAllowedError(`Package is written in State Idle only (State is ${this.#state})`, this.instance.path(R.Package));
    }
    const max = this.#o.maxPackageSize;
    if (size1 !== undefined && size1 > max) {
      await this.#fail(FirmwareResult.NotEnoughStorage);
      throw new Lwm2mError('4.13', `package of ${size1} bytes exceeds ${max}`, this.instance.path(R.Package));
    }
    const transfer = { aborted: false };
    this.#push = transfer;
    this.#uri = '';
    this.#device.setResource(R.PackageUri, '');
    await this.#set(FirmwareState.Downloading, FirmwareResult.Initial);
    const storage = this.#o.storage;
    try {
      await storage.begin(size1);
    } catch (e) {
      this.#emit('error', asError(e));
      await this.#fail(resultOf(e, FirmwareResult.NotEnoughStorage));
      throw new Lwm2mError('5.00', 'storage refused the package', this.instance.path(R.Package));
    }
    // The CoAP layer notices a silent transfer only when another upload comes; a timer makes Update Result 4 happen.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watch = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (transfer.aborted || this.#push !== transfer) return;
      timer = setTimeout(() => sink.abort(), this.#o.pushTimeoutMs ?? 247_000);
      timer.unref();
    };
    const gone = (): Lwm2mError => new Lwm2mError('4.08', 'the package transfer was cancelled', this.instance.path(R.Package));
    const sink: PackageSink = {
      write: async (offset, bytes, more) => {
        if (transfer.aborted) throw gone();
        if (offset + bytes.length > max) {
          transfer.aborted = true;
          await this.#fail(FirmwareResult.NotEnoughStorage);
          throw new Lwm2mError('4.13', `package exceeds ${max} bytes`, this.instance.path(R.Package));
        }
        try {
          await storage.write(offset, bytes);
          if (!more) await storage.finish();
        } catch (e) {
          this.#emit('error', asError(e));
          transfer.aborted = true;
          await this.#fail(resultOf(e, FirmwareResult.NotEnoughStorage));
          throw new Lwm2mError('5.00', 'storage failed', this.instance.path(R.Package));
        }
        if (transfer.aborted) throw gone();
        this.#emit('progress', { bytes: offset + bytes.length, total: size1 });
        if (!more) {
          this.#push = undefined;
          watch();
          await this.#downloaded(() => transfer.aborted);
        } else {
          watch();
        }
      },
      abort: () => {
        if (timer) clearTimeout(timer);
        if (transfer.aborted) return;
        transfer.aborted = true;
        if (this.#push === transfer) {
          this.#push = undefined;
          this.#job = this.#fail(FirmwareResult.ConnectionLost);
        }
      },
    };
    watch();
    return sink;
  }

  /** The same, in the shape the CoAP layer's streamBlock1 and Lwm2mClient.streamWrites hand over. */
  openBlock1 = (start: { readonly size1?: number }): Promise<PackageSink> => this.openPackageStream(start.size1);

  /**
   * Execute handler of Update (/5/x/2): 4.05 unless State is Downloaded; answers at once, applies after.
   * Through an Execute, apply() is queued with `args.afterResponse`, so the 2.04 is on the wire before the device
   * gets busy (or reboots); a direct call without args (app code) applies on the next macrotask instead.
   */
  async update(args?: ExecuteArguments): Promise<void> {
    if (this.#state !== FirmwareState.Downloaded) {
      throw new MethodNotAllowedError(`Update is executable in State Downloaded only (State is ${this.#state})`, this.instance.path(R.Update));
    }
    // Persisted before apply() runs: a device that reboots inside apply finds State Updating on the way up.
    await this.#set(FirmwareState.Updating, FirmwareResult.Initial);
    this.#job = new Promise<void>((done) => {
      // apply's failures end in Update Result, never in the task: the router has nothing to report.
      const task: AfterResponseTask = () => this.#apply().finally(done);
      if (args) args.afterResponse(task);
      else deferAfterResponse(task);
    });
  }

  /** Execute handler of Cancel (/5/x/10): stops a download or drops a downloaded package; Update Result 10. */
  async cancel(_args?: ExecuteArguments): Promise<void> {
    if (this.#state === FirmwareState.Updating) {
      throw new MethodNotAllowedError('an update in progress cannot be cancelled', this.instance.path(R.Cancel));
    }
    await this.#reset(FirmwareResult.Cancelled);
  }

  // ---- internals ----

  async #apply(): Promise<void> {
    try {
      await this.#o.apply(this.#o.storage);
    } catch (e) {
      this.#emit('error', asError(e));
      await this.#fail(resultOf(e, FirmwareResult.UpdateFailed));
      return;
    }
    await this.#set(FirmwareState.Idle, FirmwareResult.Success);
  }

  /** Back to Idle with `result`, the package dropped and any transfer stopped. */
  async #reset(result: FirmwareResultValue): Promise<void> {
    if (this.#state === FirmwareState.Updating) {
      throw new MethodNotAllowedError('an update is being applied', this.instance.path(R.State));
    }
    this.#abort?.abort();
    this.#abort = undefined;
    if (this.#push) {
      this.#push.aborted = true;
      this.#push = undefined;
    }
    this.#uri = '';
    this.#device.setResource(R.PackageUri, '');
    await this.#fail(result);
  }

  async #fail(result: FirmwareResultValue): Promise<void> {
    try {
      await this.#o.storage.discard();
    } catch (e) {
      this.#emit('error', asError(e));
    }
    await this.#set(FirmwareState.Idle, result);
  }

  /** A complete package: verify it, describe it, and report Downloaded (or Idle with 5 when it fails the check). */
  async #downloaded(aborted: () => boolean): Promise<void> {
    const o = this.#o;
    let failed: FirmwareResultValue | undefined;
    if (o.verify) {
      try {
        if (!(await o.verify(o.storage))) failed = FirmwareResult.IntegrityCheckFailure;
      } catch (e) {
        this.#emit('error', asError(e));
        failed = resultOf(e, FirmwareResult.IntegrityCheckFailure);
      }
    }
    if (aborted()) return;
    if (failed !== undefined) {
      await this.#fail(failed);
      return;
    }
    if (o.describe) {
      try {
        const info = await o.describe(o.storage);
        this.#pkgName = info.name ?? '';
        this.#pkgVersion = info.version ?? '';
      } catch (e) {
        this.#emit('error', asError(e));
      }
    }
    if (aborted()) return;
    await this.#set(FirmwareState.Downloaded, FirmwareResult.Initial);
  }

  #startPull(url: URL, fresh: boolean): void {
    const controller = new AbortController();
    this.#abort = controller;
    this.#job = this.#pull(url, fresh, controller.signal).catch((e: unknown) => this.#emit('error', asError(e)));
  }

  async #pull(url: URL, fresh: boolean, signal: AbortSignal): Promise<void> {
    const o = this.#o;
    const storage = o.storage;
    const dl = o.download ?? {};
    const retries = dl.retries ?? 3;
    const retryDelay = dl.retryDelayMs ?? 1000;
    const max = o.maxPackageSize;
    await this.#set(FirmwareState.Downloading, FirmwareResult.Initial);
    await this.#save();
    let from = 0;
    try {
      if (fresh) await storage.begin(undefined);
      else from = await storage.size();
    } catch (e) {
      this.#emit('error', asError(e));
      if (!signal.aborted) await this.#fail(resultOf(e, FirmwareResult.NotEnoughStorage));
      return;
    }
    let pos = from;
    let total: number | undefined;
    const storageFailed = (e: unknown): DownloadError => {
      this.#emit('error', asError(e));
      return new DownloadError('storage failed', resultOf(e, FirmwareResult.NotEnoughStorage), false);
    };
    const sink: ChunkSink = {
      start: async (offset, size) => {
        if (size !== undefined && size > max) throw new DownloadError(`package of ${size} bytes exceeds ${max}`, FirmwareResult.NotEnoughStorage, false);
        total = size;
        if (offset === 0 && pos > 0) {
          try {
            await storage.begin(size);
          } catch (e) {
            throw storageFailed(e);
          }
        }
        pos = offset;
      },
      chunk: async (offset, bytes) => {
        if (signal.aborted) throw new DownloadError('cancelled', FirmwareResult.Cancelled, false);
        if (offset + bytes.length > max) throw new DownloadError(`package exceeds ${max} bytes`, FirmwareResult.NotEnoughStorage, false);
        try {
          await storage.write(offset, bytes);
        } catch (e) {
          throw storageFailed(e);
        }
        pos = offset + bytes.length;
        this.#emit('progress', { bytes: pos, total });
      },
    };
    const fetch = fetcherFor(protocolOf(url)!);
    let failures = 0;
    for (;;) {
      const before = pos;
      try {
        await fetch(url, from, sink, signal, dl);
        break;
      } catch (e) {
        if (signal.aborted) return;
        const err = e instanceof DownloadError ? e : new DownloadError(asError(e).message, FirmwareResult.ConnectionLost, true);
        if (!err.retryable) {
          await this.#fail(err.result);
          return;
        }
        // Retries are bounded per stall: a link that keeps making progress may drop any number of times.
        failures = pos > before ? 1 : failures + 1;
        if (failures > retries) {
          this.#emit('error', err);
          await this.#fail(FirmwareResult.ConnectionLost);
          return;
        }
        from = pos;
        await delay(retryDelay * failures, signal);
        if (signal.aborted) return;
      }
    }
    // Cancelled as the last bytes came in: storage may already hold the next package.
    if (signal.aborted) return;
    try {
      await storage.finish();
    } catch (e) {
      this.#emit('error', asError(e));
      if (!signal.aborted) await this.#fail(resultOf(e, FirmwareResult.NotEnoughStorage));
      return;
    }
    if (signal.aborted) return;
    this.#abort = undefined;
    await this.#downloaded(() => signal.aborted);
  }
}

/**
 * Attaches the Firmware Update state machine to a /5 instance: Package and Package URI writes, Update and Cancel are
 * served by the returned updater, by resource id. `withFirmwareUpdate(FirmwareUpdateBase)` does this for a
 * generated class, so the app writes no handler; see runtime/firmware/README.md.
 */
export function attachFirmwareUpdate(instance: ObjectInstance, options: FirmwareUpdateOptions): FirmwareUpdater {
  return new FirmwareUpdater(instance, options);
}
