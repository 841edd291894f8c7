// Text typed in the page to model values (checked by type and range), and decoded values to what the page shows.
import { defineObject, type ResourceModel } from '../../runtime/index.js';
import { BadInputError, valueFromText, valueView } from '../../server/values.js';

const r = (type: ResourceModel['type'], extra: Partial<ResourceModel> = {}): ResourceModel =>
  defineObject({ id: 30000, name: 'T', urn: 'urn:oma:lwm2m:x:30000', objectVersion: '1.0', lwm2mVersion: '1.1', multiple: false, mandatory: false,
    resources: [{ id: 0, name: 'V', operations: 'RW', type, multiple: false, mandatory: false, ...extra }] }).resource(0)!;
const at = { objectId: 30000, instanceId: 0, resourceId: 0 };

test.each([
  ['Integer', '42', 42],
  ['Unsigned Integer', '7', 7],
  ['Float', '2.5e3', 2500],
  ['Boolean', 'true', true],
  ['Boolean', '0', false],
  ['String', '  spaced <b>  ', '  spaced <b>  '],
  ['Objlnk', '3:0', { objectId: 3, instanceId: 0 }],
] as const)('%s "%s" is %p', (type, text, value) => {
  expect(valueFromText(r(type), text, at)).toEqual(value);
});

test('an integer beyond 2^53 is a bigint when the range needs it, and refused when it does not', () => {
  const wide = r('Integer', { range: { kind: 'interval', min: -(2n ** 63n), max: 2n ** 63n - 1n, text: '-2^63..2^63-1' } });
  expect(valueFromText(wide, '-9007199254740993', at)).toBe(-9007199254740993n);
  expect(() => valueFromText(r('Integer'), '-9007199254740993', at)).toThrow(/^\/30000\/0\/0 \(V\): value -9007199254740993 is beyond the safe integer range/);
});

test('Time takes seconds or an ISO date; Opaque takes hex', () => {
  expect(valueFromText(r('Time'), '1700000000', at)).toEqual(new Date(1700000000_000));
  expect(valueFromText(r('Time'), '2024-01-02T03:04:05Z', at)).toEqual(new Date('2024-01-02T03:04:05Z'));
  expect(valueFromText(r('Opaque'), 'de ad BE EF', at)).toEqual(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
});

test.each([
  ['Integer', '4.5', /"4.5" is not an integer/],
  ['Unsigned Integer', '-1', /\/30000\/0\/0 \(V\)/],
  ['Float', 'NaN', /is not a number/],
  ['Boolean', 'yes', /is not a boolean/],
  ['Time', 'soon', /is not a time/],
  ['Opaque', 'abc', /hex digits, two per byte/],
  ['Objlnk', '3/0', /is not an object link/],
] as const)('%s "%s" is refused', (type, text, message) => {
  expect(() => valueFromText(r(type), text, at)).toThrow(BadInputError);
  expect(() => valueFromText(r(type), text, at)).toThrow(message);
});

test('ranges and lengths of the model are checked', () => {
  const pct = r('Integer', { range: { kind: 'interval', min: 0, max: 100, text: '0..100' } });
  expect(valueFromText(pct, '100', at)).toBe(100);
  expect(() => valueFromText(pct, '101', at)).toThrow(/V\): .*0\.\.100/);
  const short = r('String', { range: { kind: 'length', min: 0, max: 3, text: '0..3 bytes' } });
  expect(() => valueFromText(short, 'four', at)).toThrow(BadInputError);
});

test('what the page shows of each value type; strings stay exactly as sent', () => {
  expect(valueView(at, 5)).toEqual({ path: '/30000/0/0', text: '5', number: 5 });
  expect(valueView(at, 2n ** 64n - 1n)).toEqual({ path: '/30000/0/0', text: '18446744073709551615', number: 18446744073709552000 });
  expect(valueView(at, '<img src=x>')).toEqual({ path: '/30000/0/0', text: '<img src=x>' });
  expect(valueView(at, new Date(1000))).toEqual({ path: '/30000/0/0', text: '1970-01-01T00:00:01.000Z', number: 1 });
  expect(valueView(at, Uint8Array.from([1, 2]))).toEqual({ path: '/30000/0/0', text: '0102' });
  expect(valueView(at, { objectId: 3, instanceId: 1 })).toEqual({ path: '/30000/0/0', text: '3:1' });
});
