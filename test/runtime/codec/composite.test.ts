// Composite payloads: path lists and root-level records in SenML JSON, SenML CBOR and LwM2M CBOR, both ways, and what they refuse.
import { encode as cborEncode } from 'cbor-x';
import {
  ContentFormat, decodeCompositePaths, decodeCompositeRecords, encodeCompositePaths, encodeCompositeRecords, type Lwm2mRecord,
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
