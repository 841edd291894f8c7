// ObjectInstance: the base that generated classes extend — value store, model-driven checks, hooks and change events.
import { BadRequestError, MethodNotAllowedError, NotFoundError } from '../errors.js';
import {
  isExecutable, isReadable, isWritable,
  type Lwm2mPath, type ObjectDefinition, type ResourceContent, type ResourceModel, type ResourceValue,
} from '../model.js';
import { checkContent, checkValue, sameContent } from '../values/check.js';
import { parseExecuteArguments, deferAfterResponse, type AfterResponseTask, type ExecuteArguments } from './execute-args.js';

/**
 * How a generated class names its members for each resource: the property that holds the value, the
 * optional write hook, read hook and execute handler. The runtime dispatches through this table.
 */
export interface MemberNames {
  readonly property?: string;
  readonly onWrite?: string;
  readonly onRead?: string;
  readonly execute?: string;
}
export type MemberTable = Readonly<Record<number, MemberNames>>;

/** Why a value changed: set by the device app, written by a server, or a resource instance removed. */
export type ChangeSource = 'device' | 'server';
export type ChangeListener = (instance: ObjectInstance, resourceId: number, source: ChangeSource) => void;

/** How a server write applies to a multiple resource: replace its instances, or merge into them. */
export type WriteMode = 'replace' | 'update';

type Hook = (...args: unknown[]) => unknown;

/** The app's own Execute handler of a resource, as a behaviour sees it. */
export type ExecuteHandler = (args: ExecuteArguments) => void | Promise<void>;

/**
 * Standard behaviour of one resource, attached by id (attachResourceBehaviour) by the runtime's components:
 * the Device and Config mixins, the firmware updater, the client's Server object. Keyed by resource id, not by
 * generated member names, so the runtime needs nothing from generated code. The app's own hooks still run:
 * its read hook wins over `read`, its write hook runs after `write` accepted the value, and `execute` receives
 * the app's handler to call (or not) as the standard behaviour says.
 */
export interface ResourceBehaviour {
  /** Computes the value at every read (the resource is then present). */
  read?(): unknown;
  /** Checks a server write before anything is stored; throw (ValueError: 4.00) to refuse it. */
  write?(next: ResourceContent, previous: ResourceContent | undefined): void | Promise<void>;
  /** Serves an Execute (the resource is then present); `app` is the app's handler of it, if any. */
  execute?(args: ExecuteArguments, app: ExecuteHandler | undefined): void | Promise<void>;
}

let attach: (instance: ObjectInstance, resourceId: number, behaviour: ResourceBehaviour) => void;

/**
 * Attaches standard behaviour to one resource of an instance (a later call for the same resource replaces it).
 * Throws when the object has no such resource.
 */
export function attachResourceBehaviour(instance: ObjectInstance, resourceId: number, behaviour: ResourceBehaviour): void {
  attach(instance, resourceId, behaviour);
}

export abstract class ObjectInstance {
  readonly definition: ObjectDefinition;
  readonly instanceId: number;
  readonly #members: MemberTable;
  readonly #values = new Map<number, ResourceContent>();
  #listeners: ChangeListener[] | undefined;
  #behaviours: Map<number, ResourceBehaviour> | undefined;

  static {
    // A module-level function rather than a member: no name a generated class could shadow.
    attach = (instance, resourceId, behaviour) => {
      instance.#resource(resourceId);
      (instance.#behaviours ??= new Map()).set(resourceId, behaviour);
    };
  }

  protected constructor(definition: ObjectDefinition, instanceId: number, members: MemberTable) {
    if (!Number.isInteger(instanceId) || instanceId < 0 || instanceId > 65534) {
      throw new BadRequestError(`instance id ${instanceId} is not in 0..65534`, { objectId: definition.id });
    }
    this.definition = definition;
    this.instanceId = instanceId;
    this.#members = members;
  }

  /** The path of this instance, or of one of its resources. */
  path(resourceId?: number, resourceInstanceId?: number): Lwm2mPath {
    const p: { objectId: number; instanceId: number; resourceId?: number; resourceInstanceId?: number } = {
      objectId: this.definition.id,
      instanceId: this.instanceId,
    };
    if (resourceId !== undefined) p.resourceId = resourceId;
    if (resourceInstanceId !== undefined) p.resourceInstanceId = resourceInstanceId;
    return p;
  }

  #resource(resourceId: number): ResourceModel {
    const r = this.definition.resource(resourceId);
    if (!r) throw new NotFoundError('no such resource in this object', this.path(resourceId));
    return r;
  }

  #hook(resourceId: number, kind: keyof MemberNames): Hook | undefined {
    const name = this.#members[resourceId]?.[kind];
    if (name === undefined || kind === 'property') return undefined;
    const fn = (this as unknown as Record<string, unknown>)[name];
    return typeof fn === 'function' ? (fn as Hook) : undefined;
  }

  // ---- the typed face: generated getters and setters call these ----

  /** The current value of a resource (from its read hook when the app defines one). */
  protected getResource<T extends ResourceContent>(resourceId: number): T | undefined {
    const onRead = this.#hook(resourceId, 'onRead');
    if (onRead) {
      const r = this.#resource(resourceId);
      return checkContent(r, onRead.call(this), this.path(resourceId)) as T;
    }
    const behaviour = this.#behaviours?.get(resourceId);
    if (behaviour?.read) return checkContent(this.#resource(resourceId), behaviour.read(), this.path(resourceId)) as T;
    return this.#values.get(resourceId) as T | undefined;
  }

  /** Sets a resource from device code: checked against the model, then recorded for observers. */
  protected setResource(resourceId: number, content: unknown): void {
    const r = this.#resource(resourceId);
    if (isExecutable(r)) throw new MethodNotAllowedError('an executable resource has no value', this.path(resourceId));
    const checked = checkContent(r, content, this.path(resourceId));
    this.#store(resourceId, checked, 'device');
  }

  /** Removes the value of an optional resource (it is then absent from reads). */
  protected clearResource(resourceId: number): void {
    if (this.#values.delete(resourceId)) this.#emit(resourceId, 'device');
  }

  /** Assigns initial values by member name, as generated constructors receive them. */
  protected assignValues(values: object): void {
    const byProperty = new Map<string, number>();
    for (const [id, m] of Object.entries(this.#members)) if (m.property) byProperty.set(m.property, Number(id));
    for (const [name, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const id = byProperty.get(name);
      if (id === undefined) throw new BadRequestError(`unknown resource member "${name}"`, this.path());
      this.setResource(id, v);
    }
  }

  #store(resourceId: number, content: ResourceContent, source: ChangeSource): void {
    if (sameContent(this.#values.get(resourceId), content)) return;
    this.#values.set(resourceId, content);
    this.#emit(resourceId, source);
  }

  #emit(resourceId: number, source: ChangeSource): void {
    if (!this.#listeners) return;
    for (const l of this.#listeners) l(this, resourceId, source);
  }

  /** Tells the runtime that a computed (read-hook) value changed, so observers are notified. */
  protected markChanged(resourceId: number): void {
    this.#emit(resourceId, 'device');
  }

  // ---- the runtime's face: the client and codecs use these ----

  onChange(listener: ChangeListener): () => void {
    (this.#listeners ??= []).push(listener);
    return () => {
      const i = this.#listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.#listeners!.splice(i, 1);
    };
  }

  /** True when the resource exists in this instance: it has a value, a read hook or an execute handler. */
  hasResource(resourceId: number): boolean {
    const r = this.definition.resource(resourceId);
    if (!r) return false;
    const b = this.#behaviours?.get(resourceId);
    if (isExecutable(r)) return this.#hook(resourceId, 'execute') !== undefined || b?.execute !== undefined;
    return this.#values.has(resourceId) || this.#hook(resourceId, 'onRead') !== undefined || b?.read !== undefined;
  }

  /** Ids of the resources present in this instance, ascending. */
  resourceIds(): number[] {
    // The model's resources are in ascending id order (the generator sorts them), so no sort is needed.
    const ids: number[] = [];
    for (const r of this.definition.resources) if (this.hasResource(r.id)) ids.push(r.id);
    return ids;
  }

  /** Ids of resource instances of a present multiple resource, ascending. */
  resourceInstanceIds(resourceId: number): number[] {
    const v = this.getResource(resourceId);
    return v instanceof Map ? [...v.keys()].sort((a, b) => a - b) : [];
  }

  /** A server Read of one resource: 4.04 when absent, 4.05 when not readable. */
  readResource(resourceId: number): ResourceContent {
    const r = this.#resource(resourceId);
    if (!this.hasResource(resourceId)) throw new NotFoundError('resource not present in this instance', this.path(resourceId));
    if (!isReadable(r)) throw new MethodNotAllowedError(`resource is not readable (operations: ${r.operations || 'none'})`, this.path(resourceId));
    const v = this.getResource(resourceId);
    if (v === undefined) throw new NotFoundError('resource has no value', this.path(resourceId));
    return v;
  }

  /** A server Read of one resource instance. */
  readResourceInstance(resourceId: number, resourceInstanceId: number): ResourceValue {
    const r = this.#resource(resourceId);
    const content = this.readResource(resourceId);
    const path = this.path(resourceId, resourceInstanceId);
    if (!r.multiple || !(content instanceof Map)) throw new NotFoundError('not a multiple resource', path);
    const v = content.get(resourceInstanceId);
    if (v === undefined) throw new NotFoundError('no such resource instance', path);
    return v;
  }

  /** A server Read of the whole instance: every readable resource that is present. */
  readAll(): Map<number, ResourceContent> {
    const out = new Map<number, ResourceContent>();
    // Read is the hot path of a device: one pass over the model, no intermediate lists.
    for (const r of this.definition.resources) {
      if (!isReadable(r)) continue;
      const v = this.getResource(r.id);
      if (v !== undefined) out.set(r.id, v);
    }
    return out;
  }

  /**
   * A server Write of one or more resources, all or nothing: every value is checked and every write
   * hook runs before any value is stored, so a refused value or a throwing hook changes nothing.
   * `mode` says how multiple resources combine with their current instances. `create` allows
   * writing read-only resources, as a Create does; `instance` with 'replace' is a Replace of the whole
   * instance (PUT /o/i), which also removes optional writable resources the values leave out.
   */
  async writeResources(
    values: ReadonlyMap<number, ResourceContent>,
    mode: WriteMode,
    options: { create?: boolean; instance?: boolean } = {},
  ): Promise<void> {
    const staged: Array<[number, ResourceContent, ResourceContent | undefined]> = [];
    for (const [id, content] of values) {
      const r = this.#resource(id);
      const path = this.path(id);
      if (!isWritable(r) && !(options.create && !isExecutable(r))) {
        throw new MethodNotAllowedError(`resource is not writable (operations: ${r.operations || 'none'})`, path);
      }
      let next = checkContent(r, content, path);
      const previous = this.#values.get(id);
      if (r.multiple && mode === 'update' && previous instanceof Map && next instanceof Map) {
        next = new Map([...previous, ...next]);
      }
      staged.push([id, next, previous]);
    }
    // A Replace of the whole instance also removes optional writable resources the payload left out.
    const removed = options.instance && mode === 'replace'
      ? this.definition.resources.filter((r) => isWritable(r) && !r.mandatory && !values.has(r.id) && this.#values.has(r.id)).map((r) => r.id)
      : [];
    for (const [id, next, previous] of staged) {
      const b = this.#behaviours?.get(id);
      if (b?.write) await b.write(next, previous);
      const onWrite = this.#hook(id, 'onWrite');
      if (onWrite) await onWrite.call(this, next, previous);
    }
    for (const [id, next] of staged) this.#store(id, next, 'server');
    for (const id of removed) if (this.#values.delete(id)) this.#emit(id, 'server');
  }

  /** A server Write to one resource instance of a multiple resource (a partial update of that resource). */
  async writeResourceInstance(resourceId: number, resourceInstanceId: number, value: ResourceValue): Promise<void> {
    const r = this.#resource(resourceId);
    const path = this.path(resourceId, resourceInstanceId);
    if (!r.multiple) throw new NotFoundError('not a multiple resource', path);
    checkValue(r, value, path);
    await this.writeResources(new Map([[resourceId, new Map([[resourceInstanceId, value]])]]), 'update');
  }

  /**
   * A server Execute: 4.05 when the resource is not executable, 4.04 when the app has no handler.
   * `afterResponse` collects the tasks the handler defers until its response is sent (the client passes one);
   * without it they run on the next macrotask.
   */
  async execute(resourceId: number, rawArguments = '', afterResponse?: (task: AfterResponseTask) => void): Promise<void> {
    const r = this.#resource(resourceId);
    const path = this.path(resourceId);
    if (!isExecutable(r)) throw new MethodNotAllowedError(`resource is not executable (operations: ${r.operations || 'none'})`, path);
    const hook = this.#hook(resourceId, 'execute');
    const app = hook ? (a: ExecuteArguments) => hook.call(this, a) as void | Promise<void> : undefined;
    const standard = this.#behaviours?.get(resourceId)?.execute;
    const handler: ExecuteHandler | undefined = standard ? (a) => standard(a, app) : app;
    if (!handler) throw new NotFoundError('this device does not implement the resource', path);
    if (!afterResponse) {
      // Collected and released only when the handler succeeds: a failed Execute must not run its deferred work.
      const tasks: AfterResponseTask[] = [];
      await handler(parseExecuteArguments(rawArguments, path, (t) => tasks.push(t)));
      for (const t of tasks) deferAfterResponse(t);
      return;
    }
    await handler(parseExecuteArguments(rawArguments, path, afterResponse));
  }

  /**
   * Mandatory readable resources with neither a value nor a read hook: a device must not register like that
   * (Lwm2mClient.start refuses it, naming them).
   */
  missingMandatory(): ResourceModel[] {
    return this.definition.resources.filter((r) => r.mandatory && isReadable(r) && !this.hasResource(r.id));
  }
}


/**
 * Every name an ObjectInstance (and a generated class's static side) uses: generated members must not shadow them.
 * The generator escapes a resource named like one of these with a trailing `_`; a test keeps the list complete.
 */
export const OBJECT_INSTANCE_MEMBERS: readonly string[] = Object.freeze([
  'definition', 'instanceId', 'path', 'getResource', 'setResource', 'clearResource', 'assignValues', 'markChanged',
  'onChange', 'hasResource', 'resourceIds', 'resourceInstanceIds', 'readResource', 'readResourceInstance', 'readAll',
  'writeResources', 'writeResourceInstance', 'execute', 'missingMandatory', 'model', 'members',
]);
