// The standard Config object behaviour by resource id (Name 0, Value 1, Apply 2): server writes stage a setting, Apply puts it into effect through the app.
import { BadRequestError, Lwm2mError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';
import type { ExecuteArguments } from '../object/execute-args.js';
import { attachResourceBehaviour, type ObjectInstance } from '../object/instance.js';

export const ConfigResourceId = { NAME: 0, VALUE: 1, APPLY: 2 } as const;

/** Puts a setting into effect; throw (or reject) to refuse it. A thrown Lwm2mError (e.g. ValueError) keeps its code. */
export type ConfigApplyFn = (name: string, value: string) => void | Promise<void>;

export interface ConfigSetting {
  readonly name: string;
  readonly value: string;
}

export interface ConfigApplyFailure extends ConfigSetting {
  readonly error: Error;
  /** The CoAP code the Execute answered with: the error's own for an Lwm2mError, else 5.00. */
  readonly code: string;
}

export interface ConfigBehaviourOptions {
  readonly apply: ConfigApplyFn;
  /** The setting in effect at start, what reads return until the first successful Apply (default: the instance's Name and Value). */
  readonly initial?: ConfigSetting;
  readonly onApplied?: (setting: ConfigSetting) => void;
  readonly onApplyFailed?: (failure: ConfigApplyFailure) => void;
}

/**
 * The Config object's standard behaviour, attached to an instance by resource id; `withConfigBehaviour` is the usual
 * way to get it. Decisions, so a server sees one consistent story:
 * - Writes of Name and Value only stage; reads of Name and Value return the setting last applied, so what a
 *   server reads is always what is in effect.
 * - Apply uses the staged Name and Value, each falling back to the applied one when not staged (write just Value
 *   to change the current setting). Nothing staged, or an empty Name, is a 4.00.
 * - A successful Apply makes the staged pair the applied one (observers of Name/Value are told) and clears the stage.
 * - A failed Apply changes nothing that reads return and keeps the stage, so the server can correct and Apply
 *   again; the Execute answers the error's code when the app threw an Lwm2mError (ValueError: 4.00), else 5.00,
 *   and onApplyFailed reports it.
 */
export class ConfigBehaviour {
  readonly instance: ObjectInstance;
  readonly #o: ConfigBehaviourOptions;
  readonly #markChanged: (resourceId: number) => void;
  #applied: ConfigSetting;
  #stagedName: string | undefined;
  #stagedValue: string | undefined;
  #applying = false;

  /** `markChanged` tells the instance's observers a computed resource changed (ObjectInstance.markChanged). */
  constructor(instance: ObjectInstance, markChanged: (resourceId: number) => void, options: ConfigBehaviourOptions) {
    this.instance = instance;
    this.#o = options;
    this.#markChanged = markChanged;
    const stored = (id: number): string => {
      try {
        return instance.hasResource(id) ? String(instance.readResource(id)) : '';
      } catch {
        return '';
      }
    };
    this.#applied = options.initial ?? { name: stored(ConfigResourceId.NAME), value: stored(ConfigResourceId.VALUE) };
    const R = ConfigResourceId;
    attachResourceBehaviour(instance, R.NAME, { read: () => this.name, write: (v) => this.stageName(String(v)) });
    attachResourceBehaviour(instance, R.VALUE, { read: () => this.value, write: (v) => this.stageValue(String(v)) });
    attachResourceBehaviour(instance, R.APPLY, { execute: (args) => this.apply(args) });
  }

  #path(resourceId?: number): Lwm2mPath {
    return this.instance.path(resourceId);
  }

  /** The Name in effect (what reads of /x/0 return). */
  get name(): string {
    return this.#applied.name;
  }

  /** The Value in effect (what reads of /x/1 return). */
  get value(): string {
    return this.#applied.value;
  }

  /** What Apply would put into effect now, or undefined when nothing is staged. */
  get staged(): ConfigSetting | undefined {
    if (this.#stagedName === undefined && this.#stagedValue === undefined) return undefined;
    return { name: this.#stagedName ?? this.#applied.name, value: this.#stagedValue ?? this.#applied.value };
  }

  stageName(name: string): void {
    this.#stagedName = name;
  }

  stageValue(value: string): void {
    this.#stagedValue = value;
  }

  /** The Apply handler: resolves once the app has applied the staged setting, rejects with a typed error otherwise. */
  async apply(_args?: ExecuteArguments): Promise<void> {
    const path = this.#path(ConfigResourceId.APPLY);
    const setting = this.staged;
    if (!setting) throw new BadRequestError('nothing staged: write Name and/or Value before Apply', path);
    if (setting.name === '') throw new BadRequestError('the staged Name is empty', path);
    // One Apply at a time: a second one racing the first would apply against a stage about to be cleared.
    if (this.#applying) throw new Lwm2mError('5.03', 'an Apply is already in progress', path);
    this.#applying = true;
    try {
      await this.#o.apply(setting.name, setting.value);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const typed = error instanceof Lwm2mError
        ? error
        : new Lwm2mError('5.00', `applying "${setting.name}" failed: ${error.message}`, path);
      this.#o.onApplyFailed?.({ ...setting, error, code: typed.code });
      throw typed;
    } finally {
      this.#applying = false;
    }
    const before = this.#applied;
    this.#applied = setting;
    this.#stagedName = undefined;
    this.#stagedValue = undefined;
    if (before.name !== setting.name) this.#markChanged(ConfigResourceId.NAME);
    if (before.value !== setting.value) this.#markChanged(ConfigResourceId.VALUE);
    this.#o.onApplied?.(setting);
  }
}
