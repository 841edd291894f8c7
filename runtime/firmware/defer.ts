// Deferred update (Firmware Update 1.2): the user's choice to defer (Update Result 11) within Severity and Maximum Defer Period, and the deadline after which the update runs unasked.
import type { ObjectInstance } from '../object/instance.js';
import { type FirmwareMachine, R } from './machine.js';
import { FirmwareResult, FirmwareSeverity, FirmwareState, type FirmwareSeverityValue } from './types.js';

/** setTimeout's longest delay (about 24.8 days); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A resource's value when present, else undefined (optional resources of /5 1.2 may be absent). */
function optional(instance: ObjectInstance, resourceId: number): unknown {
  if (!instance.definition.resource(resourceId) || !instance.hasResource(resourceId)) return undefined;
  return instance.readResource(resourceId);
}

/**
 * Decides, when Update is executed or an automatic upgrade is due, between installing now and Update Result 11.
 * Deferring is possible when the app has a `defer` hook, Maximum Defer Period (/5/x/13) is above 0, Severity (/5/x/11,
 * default 1 Mandatory) is not 0 Critical, and the deadline is not reached: the first deferral plus the Maximum Defer
 * Period. At the deadline the update installs without asking, as the object's text says ("the device will not prompt
 * the user for update and install it automatically").
 */
export class DeferredUpdate {
  readonly #m: FirmwareMachine;
  readonly #install: () => Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(machine: FirmwareMachine, install: () => Promise<void>) {
    this.#m = machine;
    this.#install = install;
  }

  severity(): FirmwareSeverityValue {
    const v = optional(this.#m.instance, R.Severity);
    return v === 0 || v === 2 ? v : FirmwareSeverity.Mandatory;
  }

  /** Maximum Defer Period in seconds; 0 when absent (deferring is then not allowed). */
  maxDeferPeriod(): number {
    const v = optional(this.#m.instance, R.MaximumDeferPeriod);
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
  }

  /** True when the user may be asked now. */
  possible(): boolean {
    const m = this.#m;
    if (!m.o.defer || this.severity() === FirmwareSeverity.Critical || this.maxDeferPeriod() <= 0) return false;
    return m.deferredUntil === undefined || m.now() < m.deferredUntil;
  }

  /** Asks the app (its user); defers with Result 11 and arms the deadline, or installs. */
  async ask(): Promise<void> {
    const m = this.#m;
    const deadline = m.deferredUntil ?? m.now() + this.maxDeferPeriod() * 1000;
    let deferred = false;
    try {
      deferred = await m.o.defer!({ severity: this.severity(), maxDeferPeriod: this.maxDeferPeriod(), deadline: new Date(deadline) });
    } catch (e) {
      // A failing prompt is no consent to wait: the update goes ahead.
      m.report(e);
    }
    if (m.state !== FirmwareState.Downloaded) return;
    if (!deferred) {
      await this.#install();
      return;
    }
    m.deferredUntil = deadline;
    await m.set(FirmwareState.Downloaded, FirmwareResult.Deferred);
    this.arm();
  }

  /** Arms the deadline of the deferral in force (after a deferral, or a restart that found one). */
  arm(): void {
    this.disarm();
    const deadline = this.#m.deferredUntil;
    if (deadline === undefined) return;
    const wait = Math.min(Math.max(0, deadline - this.#m.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const m = this.#m;
      // Cancelled, installed or deferred afresh meanwhile: this deadline is not the one in force.
      if (m.deferredUntil !== deadline || m.state !== FirmwareState.Downloaded) return;
      if (m.now() < deadline) {
        this.arm();
        return;
      }
      m.job = m.job.then(() => this.#install()).catch((e: unknown) => m.report(e));
    }, wait);
    // A deferred update must not keep the process alive on its own.
    this.#timer.unref?.();
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
