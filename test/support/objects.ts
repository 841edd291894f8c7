// Hand-written object classes for client tests, shaped exactly like generated code: a model constant, a member table, a subclass.
import { defineObject, type ExecuteArguments, type ObjectDefinition, type ResourceModel } from '../../runtime/index.js';
import { BadRequestError } from '../../runtime/errors.js';
import { ObjectInstance, type MemberTable } from '../../runtime/object/instance.js';

const r = (over: Partial<ResourceModel> & Pick<ResourceModel, 'id' | 'name'>): ResourceModel => ({
  operations: 'R', type: 'String', multiple: false, mandatory: false, ...over,
});

export const ServerDef = defineObject({
  id: 1, name: 'LwM2M Server', urn: 'urn:oma:lwm2m:oma:1', objectVersion: '1.0', lwm2mVersion: '1.0',
  multiple: true, mandatory: true,
  resources: [
    r({ id: 0, name: 'Short Server ID', type: 'Integer', mandatory: true, range: { kind: 'interval', min: 1, max: 65534, text: '1..65534' } }),
    r({ id: 1, name: 'Lifetime', type: 'Integer', operations: 'RW', mandatory: true }),
    r({ id: 2, name: 'Default Minimum Period', type: 'Integer', operations: 'RW' }),
    r({ id: 3, name: 'Default Maximum Period', type: 'Integer', operations: 'RW' }),
    r({ id: 4, name: 'Disable', type: 'none', operations: 'E' }),
    r({ id: 5, name: 'Disable Timeout', type: 'Integer', operations: 'RW' }),
    r({ id: 6, name: 'Notification Storing', type: 'Boolean', operations: 'RW', mandatory: true }),
    r({ id: 7, name: 'Binding', type: 'String', operations: 'RW', mandatory: true }),
    r({ id: 8, name: 'Registration Update Trigger', type: 'none', operations: 'E', mandatory: true }),
  ],
});
const SERVER_MEMBERS: MemberTable = {
  0: { property: 'shortServerId' }, 1: { property: 'lifetime' }, 2: { property: 'defaultMinimumPeriod' },
  3: { property: 'defaultMaximumPeriod' }, 5: { property: 'disableTimeout' }, 6: { property: 'notificationStoring' },
  7: { property: 'binding' },
};

export interface ServerValues {
  shortServerId: number;
  lifetime: number;
  defaultMinimumPeriod?: number;
  defaultMaximumPeriod?: number;
  disableTimeout?: number;
  notificationStoring?: boolean;
  binding?: string;
}

/** A Server object instance that implements neither Disable nor Registration Update Trigger: the client does. */
export class TestServer extends ObjectInstance {
  constructor(instanceId: number, values: ServerValues) {
    super(ServerDef, instanceId, SERVER_MEMBERS);
    this.assignValues({ notificationStoring: false, binding: 'U', ...values });
  }
  set lifetime(v: number) {
    this.setResource(1, v);
  }
}

const deviceModel = {
  id: 3, name: 'Device', urn: 'urn:oma:lwm2m:oma:3', objectVersion: '1.1', lwm2mVersion: '1.1',
  multiple: false, mandatory: true,
  resources: [
    r({ id: 0, name: 'Manufacturer' }),
    r({ id: 1, name: 'Model Number' }),
    r({ id: 4, name: 'Reboot', type: 'none', operations: 'E', mandatory: true }),
    r({ id: 6, name: 'Available Power Sources', type: 'Integer', multiple: true, range: { kind: 'interval', min: 0, max: 7, text: '0..7' } }),
    r({ id: 9, name: 'Battery Level', type: 'Integer', range: { kind: 'interval', min: 0, max: 100, text: '0..100' } }),
    r({ id: 13, name: 'Current Time', type: 'Time', operations: 'RW' }),
    r({ id: 14, name: 'UTC Offset', operations: 'RW' }),
    r({ id: 16, name: 'Supported Binding and Modes', mandatory: true }),
  ],
} as const;
export const DeviceDef = defineObject(deviceModel);
/** The same Device as object version 1.0, for LwM2M 1.0 servers that do not read `ver`. */
export const DeviceDef10 = defineObject({ ...deviceModel, objectVersion: '1.0', lwm2mVersion: '1.0' });
const DEVICE_MEMBERS: MemberTable = {
  0: { property: 'manufacturer' }, 1: { property: 'modelNumber' }, 4: { execute: 'reboot' },
  6: { property: 'availablePowerSources' }, 9: { property: 'batteryLevel' }, 13: { property: 'currentTime' },
  14: { property: 'utcOffset' }, 16: { property: 'supportedBinding' },
};

export class TestDevice extends ObjectInstance {
  readonly reboots: ExecuteArguments[] = [];
  constructor(definition: ObjectDefinition = DeviceDef) {
    super(definition, 0, DEVICE_MEMBERS);
    this.assignValues({
      manufacturer: 'ACME', modelNumber: 'X-1', availablePowerSources: [1, 5], batteryLevel: 87,
      currentTime: new Date(1_700_000_000_000), utcOffset: '+01:00', supportedBinding: 'U',
    });
  }
  get batteryLevel(): number | undefined {
    return this.getResource<number>(9);
  }
  set batteryLevel(v: number) {
    this.setResource(9, v);
  }
  get utcOffset(): string | undefined {
    return this.getResource<string>(14);
  }
  reboot(args: ExecuteArguments): void {
    this.reboots.push(args);
  }
}

/** A custom multi-instance object with hooks that refuse or fail, for the atomicity and 5.00 tests. */
export const ConfigDef = defineObject({
  id: 10250, name: 'Config', urn: 'urn:oma:lwm2m:x:10250', objectVersion: '1.0', lwm2mVersion: '1.1',
  multiple: true, mandatory: false,
  resources: [
    r({ id: 0, name: 'Name', operations: 'RW', mandatory: true }),
    r({ id: 1, name: 'Level', type: 'Integer', operations: 'RW', range: { kind: 'interval', min: 0, max: 10, text: '0..10' } }),
    r({ id: 2, name: 'Tags', operations: 'RW', multiple: true }),
    r({ id: 3, name: 'Mode', type: 'Integer', operations: 'RW' }),
    r({ id: 4, name: 'Apply', type: 'none', operations: 'E' }),
    r({ id: 5, name: 'Blob', type: 'Opaque', operations: 'RW' }),
    r({ id: 6, name: 'Serial', type: 'Integer', operations: 'R' }),
  ],
});
const CONFIG_MEMBERS: MemberTable = {
  0: { property: 'name' }, 1: { property: 'level' }, 2: { property: 'tags' }, 3: { property: 'mode', onWrite: 'onModeWrite' },
  4: { execute: 'apply' }, 5: { property: 'blob' }, 6: { property: 'serial' },
};

export interface ConfigValues {
  name?: string;
  level?: number;
  tags?: string[];
  mode?: number;
  blob?: Uint8Array;
  serial?: number;
}

export class TestConfig extends ObjectInstance {
  readonly applied: string[] = [];
  constructor(instanceId: number, values: ConfigValues = {}) {
    super(ConfigDef, instanceId, CONFIG_MEMBERS);
    this.assignValues({ name: `cfg${instanceId}`, serial: 1000 + instanceId, ...values });
  }
  get name(): string | undefined {
    return this.getResource<string>(0);
  }
  get level(): number | undefined {
    return this.getResource<number>(1);
  }
  get mode(): number | undefined {
    return this.getResource<number>(3);
  }
  /** Mode 99 makes the hook throw a plain Error (an app bug: 5.00); mode 98 a typed refusal (4.00). */
  onModeWrite(next: number): void {
    if (next === 99) throw new Error('hook exploded');
    if (next === 98) throw new BadRequestError('mode 98 is refused');
  }
  apply(args: ExecuteArguments): void {
    if (args.args.get(0) === 'boom') throw new Error('apply exploded');
    this.applied.push(args.raw);
  }
}
