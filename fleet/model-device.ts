// Devices from object models alone: an instance per generated model constant, filled with values that pass its checks.
import {
  ObjectInstance, isExecutable, isReadable, type ExecuteArguments, type MemberTable, type ObjectDefinition, type ResourceContent,
  type ResourceModel, type ResourceValue,
} from 'lwm2m-gen/runtime';

/** What a device of the fleet is told about itself when its objects are made. */
export interface DeviceContext {
  /** The device's index in the fleet (0-based, plus the fleet's firstIndex). */
  readonly index: number;
  readonly endpointName: string;
  /** "U" (UDP, DTLS) or "T" (TCP, TLS): what the transport implies. */
  readonly binding: 'U' | 'T';
  /** The Registration lifetime the fleet asks for, in seconds. */
  readonly lifetime: number;
}

const SERVER_OBJECT = 1;
const DEVICE_OBJECT = 3;

/** One member table per object model, shared by all its instances: a fleet has many copies of each object. */
const memberTables = new WeakMap<ObjectDefinition, MemberTable>();

function membersOf(definition: ObjectDefinition): MemberTable {
  let table = memberTables.get(definition);
  if (!table) {
    const members: Record<number, { property?: string; execute?: string }> = {};
    for (const r of definition.resources) members[r.id] = isExecutable(r) ? { execute: 'executed' } : { property: `r${r.id}` };
    table = members;
    memberTables.set(definition, table);
  }
  return table;
}

/** An instance of any object, made from its model: values set through the model's checks, executables answer 2.04. */
export class ModelInstance extends ObjectInstance {
  constructor(definition: ObjectDefinition, instanceId: number, values: ReadonlyMap<number, ResourceContent>) {
    super(definition, instanceId, membersOf(definition));
    for (const [id, v] of values) this.setResource(id, v);
  }

  /** Sets a resource from device code, checked against the model (what a generated setter does). */
  set(resourceId: number, content: unknown): void {
    this.setResource(resourceId, content);
  }

  /** Execute on an executable the model does not give behaviour to: accepted and done (2.04). */
  protected executed(_args: ExecuteArguments): void {
    // A simulated device has nothing to reboot or update; the server only learns the Execute was taken.
  }
}

function lowestNumber(r: ResourceModel): number {
  const range = r.range;
  if (range?.kind === 'interval' && range.min !== undefined) return Math.max(Number(range.min), Math.min(0, Number(range.max ?? 0)));
  if (range?.kind === 'enum') {
    const first = range.members.find((m) => typeof m.value !== 'string');
    if (first) return Number(first.value);
  }
  return 0;
}

function defaultString(r: ResourceModel): string {
  const range = r.range;
  if (range?.kind === 'enum') {
    const first = range.members.find((m) => typeof m.value === 'string');
    if (first) return String(first.value);
  }
  if (range?.kind === 'length' && range.min > 0) return 'x'.repeat(range.values?.[0] ?? range.min);
  return '';
}

/** A value of the resource's type inside its range: the lowest allowed number, an empty or minimal string, false, now. */
export function sensibleValue(r: ResourceModel): ResourceValue {
  switch (r.type) {
    case 'Integer':
    case 'Unsigned Integer':
    case 'Float':
      return Math.max(r.type === 'Unsigned Integer' ? 0 : -Infinity, lowestNumber(r));
    case 'Boolean':
      return false;
    case 'Time':
      return new Date(Math.floor(Date.now() / 1000) * 1000);
    case 'Opaque': {
      const min = r.range?.kind === 'length' ? r.range.values?.[0] ?? r.range.min : 0;
      return new Uint8Array(min);
    }
    case 'Objlnk':
      return { objectId: 65535, instanceId: 65535 };
    default:
      return defaultString(r);
  }
}

/** Values a device's identity resources get, so a server's device list tells the simulated devices apart. */
function knownValues(definition: ObjectDefinition, ctx: DeviceContext): Map<number, ResourceValue> {
  if (definition.id === DEVICE_OBJECT) {
    return new Map<number, ResourceValue>([
      [0, 'lwm2m-gen'], [1, 'fleet'], [2, ctx.endpointName], [3, '1.0.0'], [16, ctx.binding], [17, 'simulator'],
    ]);
  }
  return new Map();
}

/**
 * Instance 0 of every object given: the mandatory readable resources (and those `extra` names) get a sensible value,
 * the Device object (/3) an identity with the endpoint name as serial number. The Server object (/1) is left out:
 * the client makes its own from the fleet's lifetime and binding, with the Server object's behaviour.
 */
export function modelDevice(
  definitions: readonly ObjectDefinition[], ctx: DeviceContext, extra: ReadonlySet<string> = new Set(),
): ModelInstance[] {
  return definitions.filter((d) => d.id !== SERVER_OBJECT).map((definition) => {
    const known = knownValues(definition, ctx);
    const values = new Map<number, ResourceContent>();
    for (const r of definition.resources) {
      if (isExecutable(r) || !isReadable(r)) continue;
      const wanted = r.mandatory || known.has(r.id) || extra.has(`${definition.id}/${r.id}`);
      if (!wanted) continue;
      const v = known.get(r.id) ?? sensibleValue(r);
      values.set(r.id, r.multiple ? new Map([[0, v]]) : v);
    }
    return new ModelInstance(definition, 0, values);
  });
}
