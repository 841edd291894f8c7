import { checkContent, checkValue, defineObject, ValueError, type ResourceModel } from 'lwm2m-gen/runtime';

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
  it('normalizes bigints to numbers when safe and keeps 64-bit values as bigint', () => {
    const r = res({});
    expect(checkValue(r, 5n)).toBe(5);
    expect(checkValue(r, 2n ** 62n)).toBe(2n ** 62n);
    expect(() => checkValue(r, 2n ** 63n)).toThrow(/64-bit/);
    expect(checkValue(res({ type: 'Unsigned Integer' }), 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    expect(() => checkValue(res({ type: 'Unsigned Integer' }), -1)).toThrow(/negative/);
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
