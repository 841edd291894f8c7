// The object model: defineObject freezes and indexes, operation predicates, path formatting and parsing, the 64-bit bounds.
import {
  INT64_MAX, INT64_MIN, UINT64_MAX, defineObject, formatPath, isExecutable, isReadable, isWritable, parsePath, type ResourceModel,
} from '../../runtime/model.js';

const res = (id: number, operations: ResourceModel['operations']): ResourceModel => ({ id, name: `R${id}`, operations, type: 'String', multiple: false, mandatory: false });

test('defineObject sorts resources by id, indexes them and freezes the model', () => {
  const def = defineObject({
    id: 9, name: 'X', urn: 'urn:oma:lwm2m:x:9', objectVersion: '1.0', lwm2mVersion: '1.1', multiple: false, mandatory: false,
    resources: [res(5, 'R'), res(1, 'W')],
  });
  expect(def.resources.map((r) => r.id)).toEqual([1, 5]);
  expect(def.resource(5)?.name).toBe('R5');
  expect(def.resource(2)).toBeUndefined();
  expect(Object.isFrozen(def)).toBe(true);
  expect(Object.isFrozen(def.resources[0])).toBe(true);
});

test('operation predicates', () => {
  expect([isReadable(res(0, 'RW')), isWritable(res(0, 'RW')), isExecutable(res(0, 'RW'))]).toEqual([true, true, false]);
  expect([isReadable(res(0, 'E')), isExecutable(res(0, 'E'))]).toEqual([false, true]);
  expect(isReadable(res(0, ''))).toBe(false);
});

test('paths: format and parse round-trip; parse refuses what is no path', () => {
  for (const text of ['/3', '/3/0', '/3/0/1', '/3/0/6/2']) expect(formatPath(parsePath(text)!)).toBe(text);
  expect(parsePath('3/0')).toEqual({ objectId: 3, instanceId: 0 });
  for (const bad of ['', '/', '/a', '/3/0/1/2/3', '/65536', '/3//1', '/-1']) expect(parsePath(bad)).toBeUndefined();
});

test('the 64-bit bounds', () => {
  expect(INT64_MAX).toBe(9223372036854775807n);
  expect(INT64_MIN).toBe(-9223372036854775808n);
  expect(UINT64_MAX).toBe(18446744073709551615n);
});
