// Composite payloads: path lists and root-level records in SenML JSON, SenML CBOR and LwM2M CBOR, both ways, and what they refuse.
import { encode as cborEncode } from 'cbor-x';
import {
  ContentFormat, decodeCompositePaths, decodeCompositeRecords, decodeSendRecords, encodeCompositePaths, encodeCompositeRecords,
  encodeSendRecords, type Lwm2mRecord,
} from '../../../runtime/codec/index.js';
import { Lwm2mError } from '../../../runtime/errors.js';
import { lookup } from './fixtures.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const FORMATS = [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR] as const;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof Lwm2mError ? e.code : `not an Lwm2mError: ${String(e)}`;
  }
  return undefined;
}

describe('composite path lists', () => {
  const paths = [{ objectId: 3, instanceId: 0, resourceId: 9 }, { objectId: 1, instanceId: 0 }, { objectId: 5 }, { objectId: 9999, instanceId: 1, resourceId: 10, resourceInstanceId: 2 }];

  it.each(FORMATS)('round-trips paths of several objects and every level in %i', (format) => {
    const decoded = decodeCompositePaths(format, encodeCompositePaths(format, paths));
    // LwM2M CBOR groups by object: the order is the tree's, the set the same.
    expect(new Set(decoded.map((p) => JSON.stringify(p)))).toEqual(new Set(paths.map((p) => JSON.stringify(p))));
  });

  it('writes SenML JSON names and LwM2M CBOR null leaves as LwM2M 1.1/1.2 show them', () => {
    expect(text.decode(encodeCompositePaths(ContentFormat.SENML_JSON, paths.slice(0, 2)))).toBe('[{"n":"/3/0/9"},{"n":"/1/0"}]');
    const tree = new Map<number, unknown>([[3, new Map([[0, new Map([[9, null]])]])], [1, new Map([[0, null]])]]);
    expect(decodeCompositePaths(ContentFormat.LWM2M_CBOR, cborEncode(tree))).toEqual(paths.slice(0, 2));
  });

  it('resolves a base name and reads compressed LwM2M CBOR keys', () => {
    expect(decodeCompositePaths(ContentFormat.SENML_JSON, utf8.encode('[{"bn":"/3/0/","n":"0"},{"n":"9"}]')))
      .toEqual([{ objectId: 3, instanceId: 0, resourceId: 0 }, { objectId: 3, instanceId: 0, resourceId: 9 }]);
    const compressed = new Map<unknown, unknown>([[[3, 0], new Map([[9, null]])]]);
    expect(decodeCompositePaths(ContentFormat.LWM2M_CBOR, cborEncode(compressed))).toEqual([{ objectId: 3, instanceId: 0, resourceId: 9 }]);
  });

  it('refuses what is no path list', () => {
    expect(code(() => decodeCompositePaths(ContentFormat.TLV, new Uint8Array(1)))).toBe('4.15');
    expect(code(() => decodeCompositePaths(ContentFormat.SENML_JSON, utf8.encode('{"n":"/3"}')))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.SENML_JSON, utf8.encode('[{"n":"/3/0/9","v":1}]')))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.SENML_JSON, utf8.encode('[{"n":"3/a"}]')))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.SENML_JSON, utf8.encode('[{}]')))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.LWM2M_CBOR, cborEncode(new Map([[3, new Map([[0, 5]])]]))))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.LWM2M_CBOR, cborEncode(new Map([[3, new Map([[0, new Map([[1, new Map([[2, new Map([[3, null]])]])]])]])]]))))).toBe('4.00');
    expect(code(() => decodeCompositePaths(ContentFormat.SENML_CBOR, new Uint8Array([0xff])))).toBe('4.00');
  });
});

describe('composite records', () => {
  const records: Lwm2mRecord[] = [
    { path: { objectId: 3, instanceId: 0, resourceId: 0 }, value: 'ACME' },
    { path: { objectId: 9999, instanceId: 1, resourceId: 1 }, value: -5 },
    { path: { objectId: 9999, instanceId: 1, resourceId: 14, resourceInstanceId: 3 }, value: true },
  ];

  it.each(FORMATS)('round-trips values of several objects in %i', (format) => {
    expect(decodeCompositeRecords(format, encodeCompositeRecords(format, records, lookup), lookup)).toEqual(records);
  });

  it('names each SenML record by its full path, with no base name', () => {
    expect(JSON.parse(text.decode(encodeCompositeRecords(ContentFormat.SENML_JSON, records, lookup))))
      .toEqual([{ n: '/3/0/0', vs: 'ACME' }, { n: '/9999/1/1', v: -5 }, { n: '/9999/1/14/3', vb: true }]);
  });

  it('refuses formats that cannot name several objects: 4.06 to encode, 4.15 to decode', () => {
    expect(code(() => encodeCompositeRecords(ContentFormat.TLV, records, lookup))).toBe('4.06');
    expect(code(() => decodeCompositeRecords(ContentFormat.LWM2M_JSON, new Uint8Array(2), lookup))).toBe('4.15');
    expect(code(() => decodeCompositeRecords(ContentFormat.SENML_JSON, utf8.encode('[{"n":"/77/0/1","v":1}]'), lookup))).toBe('4.04');
  });
});

describe('Send bodies (SenML JSON and CBOR with bt and t)', () => {
  const path = (o: number, i: number, r: number, ri?: number) => (ri === undefined ? { objectId: o, instanceId: i, resourceId: r } : { objectId: o, instanceId: i, resourceId: r, resourceInstanceId: ri });
  const base = 1_764_626_400.25;
  const records: Lwm2mRecord[] = [
    { path: path(3, 0, 9), value: 87, time: base },
    { path: path(9999, 0, 0), value: 'hi', time: base - 90.5 },
    { path: path(9999, 1, 17, 2), value: { objectId: 3, instanceId: 0 }, time: base + 0.001 },
    { path: path(9999, 0, 5), value: new Uint8Array([1, 2, 255]), time: base },
  ];

  it('writes bt on the first record and t where a record was captured at another time, in JSON', () => {
    expect(JSON.parse(text.decode(encodeSendRecords(ContentFormat.SENML_JSON, records, lookup, base)))).toEqual([
      { bt: base, n: '/3/0/9', v: 87 },
      { n: '/9999/0/0', t: -90.5, vs: 'hi' },
      { n: '/9999/1/17/2', t: 0.001, vlo: '3:0' },
      { n: '/9999/0/5', vd: 'AQL_' },
    ]);
  });

  it.each([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR])('round-trips values and times in %i, typed with the models and without', (format) => {
    const body = encodeSendRecords(format, records, lookup, base);
    expect(decodeSendRecords(format, body, lookup)).toEqual(records);
    // Without models: by field; the objlnk and the bytes still come back typed, the integer as a number.
    expect(decodeSendRecords(format, body)).toEqual(records);
  });

  it('reads SenML CBOR labels -3 (bt) and 6 (t), and big integers without models as bigint', () => {
    const body = cborEncode([new Map<number, unknown>([[-3, 1000], [0, '/3/0/9'], [6, -1], [2, 5]]), new Map<number, unknown>([[0, '/9999/0/1'], [2, 2n ** 60n]])]);
    expect(decodeSendRecords(ContentFormat.SENML_CBOR, body)).toEqual([
      { path: path(3, 0, 9), value: 5, time: 999 },
      { path: path(9999, 0, 1), value: 2n ** 60n, time: 1000 },
    ]);
  });

  it('refuses other formats (4.15) and, without models, records with no value or two (4.00)', () => {
    expect(code(() => encodeSendRecords(ContentFormat.LWM2M_CBOR, records, lookup, base))).toBe('4.15');
    expect(code(() => decodeSendRecords(ContentFormat.TLV, new Uint8Array(0)))).toBe('4.15');
    for (const doc of ['[{"n":"/3/0/9"}]', '[{"n":"/3/0/9","v":1,"vs":"x"}]', '[{"n":"/3/0/9","v":"x"}]', '[{"n":"/3/0/9","bt":"now","v":1}]', '[{"n":"/3/0","v":1}]']) {
      expect([doc, code(() => decodeSendRecords(ContentFormat.SENML_JSON, utf8.encode(doc)))]).toEqual([doc, '4.00']);
    }
  });
});
