// Drives the fleet's value generators: one timer per generator for all devices, values converted to each resource's type.
import type { Lwm2mClient, ObjectDefinition, ObjectInstance, ResourceModel, ResourceValue } from 'lwm2m-gen/runtime';
import { FleetOptionError } from './credentials.js';
import { createValueSource, GeneratorError, parseResourcePath, type ResourcePath, type ValueGeneratorOptions, type ValueSource } from './generators.js';
import { ModelInstance } from './model-device.js';

/** What the value driver needs of a device. */
export interface FleetDevice {
  readonly index: number;
  readonly client: Lwm2mClient;
  readonly registered: boolean;
}

/** Checks every generator option against the models (when devices come from models); throws FleetOptionError. */
export function checkValueOptions(values: readonly ValueGeneratorOptions[], objects: readonly ObjectDefinition[] | undefined): void {
  for (const v of values) {
    let path: ResourcePath;
    try {
      path = parseResourcePath(v.path);
      createValueSource(v.generator, 1);
    } catch (err) {
      if (err instanceof GeneratorError) throw new FleetOptionError('values', err.message);
      throw err;
    }
    if (!(v.everySeconds > 0)) throw new FleetOptionError('values', `${v.path}: everySeconds must be above 0`);
    if (!objects) continue;
    const def = objects.find((o) => o.id === path.objectId);
    const r = def?.resource(path.resourceId);
    if (!def || !r) throw new FleetOptionError('values', `${v.path}: the devices have no such resource (objects: ${objects.map((o) => o.id).join(', ')})`);
    if (path.instanceId !== 0) throw new FleetOptionError('values', `${v.path}: devices made from models have instance 0 only`);
    if (r.type === 'none' || r.type === 'Opaque' || r.type === 'Objlnk') throw new FleetOptionError('values', `${v.path}: a generator cannot drive a resource of type ${r.type}`);
  }
}

/** A generated number, string or boolean as a value of the resource's type. */
export function toResourceValue(r: ResourceModel, v: number | string | boolean): ResourceValue {
  switch (r.type) {
    case 'Integer':
      return Math.round(Number(v));
    case 'Unsigned Integer':
      return Math.max(0, Math.round(Number(v)));
    case 'Float':
      return Number(v);
    case 'Boolean':
      return typeof v === 'boolean' ? v : v !== 0 && v !== 'false' && v !== '0' && v !== '';
    case 'Time':
      return new Date(Number(v) * 1000);
    default:
      return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
  }
}

interface Driven {
  readonly path: ResourcePath;
  readonly label: string;
  readonly everySeconds: number;
  readonly source: ValueSource;
}

/** Applies the generators to every registered device on their timers; failures are counted as "generator" errors. */
export class ValueDriver {
  readonly #driven: Driven[];
  readonly #devices: readonly FleetDevice[];
  readonly #onError: (index: number, kind: string, error: Error) => void;
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  /** "objectId/resourceId" of every driven resource, so model devices give them a first value. */
  readonly paths: ReadonlySet<string>;

  constructor(
    values: readonly ValueGeneratorOptions[], devices: number, list: readonly FleetDevice[],
    onError: (index: number, kind: string, error: Error) => void,
  ) {
    this.#driven = values.map((v) => ({
      path: parseResourcePath(v.path), label: v.path, everySeconds: v.everySeconds, source: createValueSource(v.generator, devices),
    }));
    this.#devices = list;
    this.#onError = onError;
    this.paths = new Set(this.#driven.map((d) => `${d.path.objectId}/${d.path.resourceId}`));
  }

  start(): void {
    for (const d of this.#driven) this.#timers.push(setInterval(() => this.tick(d), d.everySeconds * 1000));
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
  }

  /** One step of one generator on every registered device. */
  tick(d: Driven): void {
    for (let slot = 0; slot < this.#devices.length; slot++) {
      const device = this.#devices[slot]!;
      if (!device.registered) continue;
      const { objectId, instanceId } = d.path;
      this.#apply(device.index, device.client.registry.instance(objectId, instanceId), slot, d);
    }
  }

  /** Gives a new device's driven resources their first generated value, before it registers. */
  seed(index: number, slot: number, instances: readonly ObjectInstance[]): void {
    for (const d of this.#driven) {
      const { objectId, instanceId } = d.path;
      this.#apply(index, instances.find((i) => i.definition.id === objectId && i.instanceId === instanceId), slot, d);
    }
  }

  #apply(index: number, inst: ObjectInstance | undefined, slot: number, d: Driven): void {
    const r = inst?.definition.resource(d.path.resourceId);
    if (!inst || !r) {
      this.#onError(index, 'generator', new Error(`${d.label}: the device has no such resource`));
      return;
    }
    const failed = (err: unknown): void => this.#onError(index, 'generator', err instanceof Error ? err : new Error(String(err)));
    try {
      const value = toResourceValue(r, d.source.next(slot));
      const content = r.multiple ? new Map([[0, value]]) : value;
      if (inst instanceof ModelInstance) {
        inst.set(r.id, content);
        return;
      }
      // An app's own class: through its write path (create: read-only resources too), so its hooks see the value.
      inst.writeResources(new Map([[r.id, content]]), 'update', { create: true }).catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
