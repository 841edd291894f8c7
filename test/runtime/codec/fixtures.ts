// Shared test models for the codec tests: the Device object (3) and a test object with every resource type.
import type { ResourceModel, ResourceType } from '../../../runtime/model.js';
import type { Lwm2mRecord, ResourceLookup } from '../../../runtime/codec/index.js';

const r = (id: number, type: ResourceType, multiple = false, operations: ResourceModel['operations'] = 'RW'): ResourceModel => ({
  id, name: `R${id}`, operations, type, multiple, mandatory: false,
});

export const DEVICE: ResourceModel[] = [
  r(0, 'String'), r(1, 'String'), r(2, 'String'), r(3, 'String'), r(4, 'none', false, 'E'), r(5, 'none', false, 'E'),
  r(6, 'Integer', true), r(7, 'Integer', true), r(8, 'Integer', true), r(9, 'Integer'), r(10, 'Integer'),
  r(11, 'Integer', true), r(12, 'none', false, 'E'), r(13, 'Time'), r(14, 'String'), r(15, 'String'), r(16, 'String'),
  r(17, 'String'), r(18, 'String'), r(19, 'String'), r(20, 'Integer'), r(21, 'Integer'),
];

/** Object 9999: one resource of each type, single (ids 0..8) and multiple (ids 10..18), same type order. */
export const TYPES: ResourceType[] = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk'];
export const TEST_OBJECT: ResourceModel[] = [
  ...TYPES.map((t, i) => r(i, t)),
  ...TYPES.map((t, i) => r(10 + i, t, true)),
  r(20, 'none', false, 'E'),
];

const models = new Map<number, Map<number, ResourceModel>>([
  [3, new Map(DEVICE.map((m) => [m.id, m]))],
  [9999, new Map(TEST_OBJECT.map((m) => [m.id, m]))],
]);
export const lookup: ResourceLookup = (o, rid) => models.get(o)?.get(rid);

/** A sample value of each type, including edge cases. */
export const SAMPLES: Record<Exclude<ResourceType, 'none'>, unknown[]> = {
  String: ['', 'hello', 'ünïcødé €', 'x'.repeat(300)],
  Integer: [0, 1, -1, 127, -128, 128, -129, 32767, -32768, 32768, 2147483647, -2147483648, 2147483648, -2147483649,
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2n ** 53n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)],
  'Unsigned Integer': [0, 255, 256, 65535, 65536, 4294967295, 4294967296, Number.MAX_SAFE_INTEGER, 2n ** 63n, 2n ** 64n - 1n],
  Float: [0, 1.5, -2.25, 3.14159, 1e300, -1e-300, 16777217, Number.MAX_VALUE],
  Boolean: [true, false],
  Opaque: [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).map((_, i) => i & 0xff)],
  Time: [new Date(0), new Date(1367491215000), new Date(-86400000), new Date(4102444800000)],
  Objlnk: [{ objectId: 3, instanceId: 0 }, { objectId: 65535, instanceId: 65535 }, { objectId: 0, instanceId: 1 }],
  Corelnk: ['</3/0>;ver=1.2', ''],
};

/** The records of one instance of the test object: each type single and multiple (instances 0 and 7). */
export function testInstance(instanceId: number): Lwm2mRecord[] {
  const out: Lwm2mRecord[] = [];
  TYPES.forEach((t, i) => {
    const s = SAMPLES[t as Exclude<ResourceType, 'none'>] as Lwm2mRecord['value'][];
    out.push({ path: { objectId: 9999, instanceId, resourceId: i }, value: s[1 % s.length]! });
    out.push({ path: { objectId: 9999, instanceId, resourceId: 10 + i, resourceInstanceId: 0 }, value: s[0]! });
    out.push({ path: { objectId: 9999, instanceId, resourceId: 10 + i, resourceInstanceId: 7 }, value: s[s.length - 1]! });
  });
  return out;
}

/** The Device instance of the LwM2M TS TLV example. */
export const DEVICE_RECORDS: Lwm2mRecord[] = [
  { path: { objectId: 3, instanceId: 0, resourceId: 0 }, value: 'Open Mobile Alliance' },
  { path: { objectId: 3, instanceId: 0, resourceId: 1 }, value: 'Lightweight M2M Client' },
  { path: { objectId: 3, instanceId: 0, resourceId: 2 }, value: '345000123' },
  { path: { objectId: 3, instanceId: 0, resourceId: 3 }, value: '1.0' },
  { path: { objectId: 3, instanceId: 0, resourceId: 6, resourceInstanceId: 0 }, value: 1 },
  { path: { objectId: 3, instanceId: 0, resourceId: 6, resourceInstanceId: 1 }, value: 5 },
  { path: { objectId: 3, instanceId: 0, resourceId: 7, resourceInstanceId: 0 }, value: 3800 },
  { path: { objectId: 3, instanceId: 0, resourceId: 7, resourceInstanceId: 1 }, value: 5000 },
  { path: { objectId: 3, instanceId: 0, resourceId: 8, resourceInstanceId: 0 }, value: 125 },
  { path: { objectId: 3, instanceId: 0, resourceId: 8, resourceInstanceId: 1 }, value: 900 },
  { path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 100 },
  { path: { objectId: 3, instanceId: 0, resourceId: 10 }, value: 15 },
  { path: { objectId: 3, instanceId: 0, resourceId: 11, resourceInstanceId: 0 }, value: 0 },
  { path: { objectId: 3, instanceId: 0, resourceId: 13 }, value: new Date(1367491215000) },
  { path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: '+02:00' },
  { path: { objectId: 3, instanceId: 0, resourceId: 16 }, value: 'U' },
];

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return new Uint8Array(clean.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** Deterministic pseudo-random bytes (xorshift), so fuzz tests repeat exactly. */
export function randomBytes(seed: number, n: number): Uint8Array {
  let x = seed | 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
