// The client's objects and instances: what it registers, what requests reach, and the change events both need.
import type { ObjectDefinition, ResourceContent, ResourceModel } from '../model.js';
import type { ChangeSource, ObjectInstance } from '../object/instance.js';

/** Makes the instance a server's Create asks for; the client then writes the Create's values into it. */
export type InstanceFactory = (instanceId: number, values: ReadonlyMap<number, ResourceContent>) => ObjectInstance;

export interface ObjectOptions {
  /** Create/Delete support: without a factory the server can neither Create nor Delete instances of the object (4.05). */
  readonly create?: InstanceFactory;
}

/** Misuse of the client's API by the device app (not a protocol error: it never reaches the server). */
export class ClientUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientUsageError';
  }
}

export interface ObjectEntry {
  readonly definition: ObjectDefinition;
  readonly create: InstanceFactory | undefined;
  readonly instances: ReadonlyMap<number, ObjectInstance>;
}

export type RegistryEvent =
  | { readonly kind: 'object-added'; readonly objectId: number }
  | { readonly kind: 'instance-added' | 'instance-removed'; readonly objectId: number; readonly instanceId: number; readonly instance: ObjectInstance }
  | {
    readonly kind: 'resource-changed'; readonly objectId: number; readonly instanceId: number;
    readonly resourceId: number; readonly source: ChangeSource; readonly instance: ObjectInstance;
  };

interface MutableEntry {
  definition: ObjectDefinition;
  create: InstanceFactory | undefined;
  instances: Map<number, ObjectInstance>;
}

export class ObjectRegistry {
  readonly #objects = new Map<number, MutableEntry>();
  readonly #listeners: Array<(e: RegistryEvent) => void> = [];
  /** How to stop listening to each instance's changes: one table for the registry (a fleet holds many registries), made with the first instance. */
  #unsubscribe: Map<ObjectInstance, () => void> | undefined;
  /** The one change listener of every instance: the instance says which it is. */
  readonly #changed = (inst: ObjectInstance, resourceId: number, source: ChangeSource): void => {
    this.#emit({
      kind: 'resource-changed', objectId: inst.definition.id, instanceId: inst.instanceId, resourceId, source, instance: inst,
    });
  };

  /** The resource model lookup codecs need (the codec module's ResourceLookup). */
  readonly lookup = (objectId: number, resourceId: number): ResourceModel | undefined =>
    this.#objects.get(objectId)?.definition.resource(resourceId);

  addObject(definition: ObjectDefinition, options: ObjectOptions = {}): void {
    const existing = this.#objects.get(definition.id);
    if (existing) {
      if (existing.definition !== definition && existing.definition.urn !== definition.urn) {
        throw new ClientUsageError(`object ${definition.id} is already defined as ${existing.definition.urn}`);
      }
      existing.definition = definition;
      if (options.create) existing.create = options.create;
      return;
    }
    this.#objects.set(definition.id, {
      definition, create: options.create, instances: new Map(),
    });
    this.#emit({ kind: 'object-added', objectId: definition.id });
  }

  /** Adds an instance; its object is added on the way when the app did not add it first. */
  addInstance(instance: ObjectInstance): void {
    const def = instance.definition;
    if (!this.#objects.has(def.id)) this.addObject(def);
    const entry = this.#objects.get(def.id)!;
    if (entry.definition.urn !== def.urn) {
      throw new ClientUsageError(`instance of ${def.urn} does not belong to object ${def.id} (${entry.definition.urn})`);
    }
    if (entry.instances.has(instance.instanceId)) {
      throw new ClientUsageError(`instance /${def.id}/${instance.instanceId} already exists`);
    }
    if (!def.multiple && entry.instances.size > 0) {
      throw new ClientUsageError(`object ${def.id} (${def.name}) is single-instance and already has one`);
    }
    entry.instances.set(instance.instanceId, instance);
    (this.#unsubscribe ??= new Map()).set(instance, instance.onChange(this.#changed));
    this.#emit({ kind: 'instance-added', objectId: def.id, instanceId: instance.instanceId, instance });
  }

  /** Removes an instance; false when there was none. */
  removeInstance(objectId: number, instanceId: number): boolean {
    const entry = this.#objects.get(objectId);
    const instance = entry?.instances.get(instanceId);
    if (!entry || !instance) return false;
    entry.instances.delete(instanceId);
    this.#unsubscribe?.get(instance)?.();
    this.#unsubscribe?.delete(instance);
    this.#emit({ kind: 'instance-removed', objectId, instanceId, instance });
    return true;
  }

  object(objectId: number): ObjectEntry | undefined {
    return this.#objects.get(objectId);
  }

  instance(objectId: number, instanceId: number): ObjectInstance | undefined {
    return this.#objects.get(objectId)?.instances.get(instanceId);
  }

  /** Instances of an object by ascending id. */
  instances(objectId: number): ObjectInstance[] {
    const entry = this.#objects.get(objectId);
    if (!entry) return [];
    return [...entry.instances.values()].sort((a, b) => a.instanceId - b.instanceId);
  }

  /** Objects by ascending id. */
  objects(): ObjectEntry[] {
    return [...this.#objects.values()].sort((a, b) => a.definition.id - b.definition.id);
  }

  /** The lowest instance id not in use, or undefined when all 65535 are taken. */
  freeInstanceId(objectId: number): number | undefined {
    const used = this.#objects.get(objectId)?.instances;
    for (let id = 0; id <= 65534; id++) if (!used?.has(id)) return id;
    return undefined;
  }

  onEvent(listener: (e: RegistryEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  #emit(e: RegistryEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }
}
