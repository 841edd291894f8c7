// FirmwareUpdater: the app-facing face of Firmware Update (/5): its hooks and execute handlers routed to the state machine, push and pull.
import { MethodNotAllowedError } from '../errors.js';
import { TypedEmitter } from '../emitter.js';
import { attachResourceBehaviour, type ObjectInstance } from '../object/instance.js';
import { deferAfterResponse, type AfterResponseTask, type ExecuteArguments } from '../object/execute-args.js';
import { DownloadError, parsePackageUri } from './download.js';
import { FirmwareMachine, R } from './machine.js';
import { startPull } from './pull.js';
import { openPush, type PackageSink } from './push.js';
import {
  FirmwareResult, FirmwareState,
  type FirmwareEvents, type FirmwareResultValue, type FirmwareStateValue, type FirmwareUpdateOptions,
} from './types.js';

export type { PackageSink } from './push.js';

function isEmptyPackage(value: Uint8Array): boolean {
  // LwM2M: writing NULL ('\0') or nothing to Package resets the state machine.
  return value.length === 0 || (value.length === 1 && value[0] === 0);
}

/** Emits 'state', 'progress' and 'error' (FirmwareEvents). */
export class FirmwareUpdater extends TypedEmitter<FirmwareEvents> {
  readonly instance: ObjectInstance;
  /** Settles once persisted state is restored (and an interrupted pull resumed); await it before serving. */
  readonly ready: Promise<void>;
  readonly #m: FirmwareMachine;

  constructor(instance: ObjectInstance, options: FirmwareUpdateOptions) {
    super();
    this.instance = instance;
    this.#m = new FirmwareMachine(instance, options, (event, value) => this.emit(event, value));
    // The standard behaviour by resource id: the app's class forwards nothing (see withFirmwareUpdate).
    attachResourceBehaviour(instance, R.Package, { write: (v) => this.onWritePackage(v as Uint8Array) });
    attachResourceBehaviour(instance, R.PackageUri, { write: (v) => this.onWritePackageUri(v as string) });
    attachResourceBehaviour(instance, R.Update, { execute: (args) => this.update(args) });
    if (instance.definition.resource(R.Cancel)) attachResourceBehaviour(instance, R.Cancel, { execute: (args) => this.cancel(args) });
    this.ready = this.#m.restore((url) => startPull(this.#m, url, false));
  }

  get state(): FirmwareStateValue {
    return this.#m.state;
  }
  get result(): FirmwareResultValue {
    return this.#m.result;
  }

  /** Resolves when the background work started so far (download, apply) has finished: for tests and shutdown. */
  settled(): Promise<void> {
    return this.#m.settled();
  }

  // ---- the behaviour attached to the instance calls these (so can the app, e.g. a local cancel) ----

  /** Write hook of Package URI (/5/x/1): '' cancels; a URI starts a pull (Update Result 7 or 9 when it cannot). */
  async onWritePackageUri(value: string): Promise<void> {
    const m = this.#m;
    if (value === '') {
      await m.reset(FirmwareResult.Initial);
      return;
    }
    if (m.state !== FirmwareState.Idle) {
      throw new MethodNotAllowedError(`Package URI is written in State Idle only (State is ${m.state}); write '' to cancel first`, this.instance.path(R.PackageUri));
    }
    m.uri = value;
    let url: URL;
    try {
      url = parsePackageUri(value, m.protocols);
    } catch (e) {
      // The Write itself succeeds: errors of the update process are reported in Update Result only.
      await m.set(FirmwareState.Idle, e instanceof DownloadError ? e.result : FirmwareResult.InvalidUri);
      return;
    }
    startPull(m, url, true);
  }

  /** Write hook of Package (/5/x/0) for a package that came in whole (no streaming): stored, verified, Downloaded. */
  async onWritePackage(value: Uint8Array): Promise<void> {
    if (isEmptyPackage(value)) {
      await this.#m.reset(FirmwareResult.Initial);
      return;
    }
    const sink = await this.openPackageStream(value.length);
    await sink.write(0, value, false);
    setImmediate(() => this.#m.emptyPackage());
  }

  /**
   * A pushed package, block by block (the client routes Block1 Writes of /5/x/0 here). `size1` is the
   * total size when the server announced it. Refuses with 4.05 unless State is Idle, 4.13 when too large.
   */
  openPackageStream(size1?: number): Promise<PackageSink> {
    return openPush(this.#m, size1);
  }

  /** The same, in the shape the CoAP layer's streamBlock1 and Lwm2mClient.streamWrites hand over. */
  openBlock1 = (start: { readonly size1?: number }): Promise<PackageSink> => this.openPackageStream(start.size1);

  /**
   * Execute handler of Update (/5/x/2): 4.05 unless State is Downloaded; answers at once, applies after.
   * Through an Execute, apply() is queued with `args.afterResponse`, so the 2.04 is on the wire before the device
   * gets busy (or reboots); a direct call without args (app code) applies on the next macrotask instead.
   */
  async update(args?: ExecuteArguments): Promise<void> {
    const m = this.#m;
    if (m.state !== FirmwareState.Downloaded) {
      throw new MethodNotAllowedError(`Update is executable in State Downloaded only (State is ${m.state})`, this.instance.path(R.Update));
    }
    // Persisted before apply() runs: a device that reboots inside apply finds State Updating on the way up.
    await m.set(FirmwareState.Updating, FirmwareResult.Initial);
    m.job = new Promise<void>((done) => {
      // apply's failures end in Update Result, never in the task: the router has nothing to report.
      const task: AfterResponseTask = () => m.apply().finally(done);
      if (args) args.afterResponse(task);
      else deferAfterResponse(task);
    });
  }

  /** Execute handler of Cancel (/5/x/10): stops a download or drops a downloaded package; Update Result 10. */
  async cancel(_args?: ExecuteArguments): Promise<void> {
    if (this.#m.state === FirmwareState.Updating) {
      throw new MethodNotAllowedError('an update in progress cannot be cancelled', this.instance.path(R.Cancel));
    }
    await this.#m.reset(FirmwareResult.Cancelled);
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
