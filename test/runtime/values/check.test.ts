import { checkContent, checkValue, defineObject, isBigintResource, ValueError, type ResourceModel } from 'lwm2m-gen/runtime';

const res = (over: Partial<ResourceModel>): ResourceModel => ({
  id: 1, name: 'R', operations: 'RW', type: 'Integer', multiple: false, mandatory: false, ...over,
});

describe('checkValue', () => {
  it('accepts integers inside an interval and refuses those outside, naming the path', () => {
    const r = res({ range: { kind: 'interval', min: 0, max: 100, text: '0..100' } });
    expect(checkValue(r, 100)).toBe(100);
    expect(() => checkValue(r, 101, { objectId: 3, instanceId: 0, resourceId: 9 })).toThrow(
      new ValueError('value 101 is outside the range 0..100', { objectId: 3, instanceId: 0, resourceId: 9 }),
    );
    expect(() => checkValue(r, 1.5)).toThrow(/not a safe integer/);
  });
  it('a number resource (no range beyond 2^53) holds numbers: safe bigints become numbers, others are refused', () => {
    const r = res({});
    const path = { objectId: 1, instanceId: 0, resourceId: 1 };
    expect(checkValue(r, 5n)).toBe(5);
    expect(checkValue(r, BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => checkValue(r, 2n ** 62n, path)).toThrow(new ValueError('value 4611686018427387904 is beyond the safe integer range ±(2^53-1) of this resource (its range needs no more)', path));
    expect(() => checkValue(r, -(2n ** 53n))).toThrow(/beyond the safe integer range/);
    expect(() => checkValue(r, 2n ** 63n)).toThrow(/64-bit/);
    expect(() => checkValue(res({ type: 'Unsigned Integer' }), -1)).toThrow(/negative/);
  });
  it('a bigint resource (range beyond 2^53) holds bigints, whatever the input', () => {
    const u = res({ type: 'Unsigned Integer', range: { kind: 'interval', min: 0, max: 2n ** 64n - 1n, text: '0..2^64-1' } });
    expect(isBigintResource(u)).toBe(true);
    expect(checkValue(u, 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(checkValue(u, 5)).toBe(5n);
    expect(() => checkValue(u, 2 ** 60)).toThrow(/not a safe integer \(use a bigint beyond 2\^53\)/);
    expect(isBigintResource(res({ range: { kind: 'enum', members: [{ value: 0 }, { value: 2n ** 60n }], text: '0, 2^60' } }))).toBe(true);
    expect(isBigintResource(res({ range: { kind: 'interval', min: 0, max: 2 ** 52, text: '0..2^52' } }))).toBe(false);
    expect(isBigintResource(res({ type: 'Float' }))).toBe(false);
  });
  it('an opaque length error reads once, not "value 17 bytes is 17 bytes long"', () => {
    const o = res({ type: 'Opaque', range: { kind: 'length', min: 0, max: 16, text: '0..16 bytes' } });
    expect(() => checkValue(o, new Uint8Array(17))).toThrow(/^value is 17 bytes long, outside 0\.\.16 bytes$/);
  });
  it('checks bigint bounds beyond 2^53 exactly', () => {
    const r = res({ range: { kind: 'interval', min: 0, max: 2n ** 60n, text: '0..2^60' } });
    expect(checkValue(r, 2n ** 60n)).toBe(2n ** 60n);
    expect(() => checkValue(r, 2n ** 60n + 1n)).toThrow(ValueError);
  });
  it('checks enumerations with intervals and single values', () => {
    const r = res({ range: { kind: 'enum', members: [{ value: 0, to: 247 }, { value: 255 }], text: '0..247, 255' } });
    expect(checkValue(r, 247)).toBe(247);
    expect(checkValue(r, 255)).toBe(255);
    expect(() => checkValue(r, 250)).toThrow(/not one of 0..247, 255/);
  });
  it('checks string and opaque lengths in bytes', () => {
    const s = res({ type: 'String', range: { kind: 'length', min: 0, max: 3, text: '0..3 bytes' } });
    expect(checkValue(s, 'abc')).toBe('abc');
    expect(() => checkValue(s, 'ab€')).toThrow(/5 bytes/);
    const o = res({ type: 'Opaque', range: { kind: 'length', min: 2, max: 2, text: '2' } });
    expect(() => checkValue(o, new Uint8Array(3))).toThrow(ValueError);
    expect(() => checkValue(o, 'xx')).toThrow(/expected bytes/);
  });
  it('checks the other types', () => {
    expect(checkValue(res({ type: 'Boolean' }), true)).toBe(true);
    expect(() => checkValue(res({ type: 'Boolean' }), 1)).toThrow(ValueError);
    expect(() => checkValue(res({ type: 'Float' }), Number.NaN)).toThrow(ValueError);
    expect(() => checkValue(res({ type: 'Time' }), new Date('x'))).toThrow(ValueError);
    expect(checkValue(res({ type: 'Objlnk' }), { objectId: 3, instanceId: 0 })).toEqual({ objectId: 3, instanceId: 0 });
    expect(() => checkValue(res({ type: 'Objlnk' }), { objectId: 70000, instanceId: 0 })).toThrow(ValueError);
    expect(() => checkValue(res({ type: 'none', operations: 'E' }), 1)).toThrow(ValueError);
  });
  it('copies multiple resources from maps and arrays', () => {
    const r = res({ multiple: true, range: { kind: 'interval', min: 0, max: 32, text: '0..32' } });
    expect(checkContent(r, [1, 2])).toEqual(new Map([[0, 1], [1, 2]]));
    expect(() => checkContent(r, new Map([[0, 33]]), { objectId: 3, instanceId: 0, resourceId: 11 })).toThrow('/3/0/11/0');
    expect(() => checkContent(r, 1)).toThrow(/multiple resource/);
  });
  it('defineObject freezes the model and indexes resources', () => {
    const d = defineObject({ id: 9, name: 'X', urn: 'urn:oma:lwm2m:oma:9', objectVersion: '1.0', lwm2mVersion: '1.0', multiple: false, mandatory: false, resources: [res({})] });
    expect(d.resource(1)?.name).toBe('R');
    expect(Object.isFrozen(d.resources[0])).toBe(true);
  });
});
