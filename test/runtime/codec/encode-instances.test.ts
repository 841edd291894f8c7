// encodeInstances (the record-free Read encoder) against encodeRecords on the same values: same bytes, same errors, every format.
import { ContentFormat, encodeRecords, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import { encodeInstances, instanceRecords } from '../../../runtime/codec/records.js';
import type { InstanceContent, ResourceLookup } from '../../../runtime/codec/types.js';
import type { ResourceContent, ResourceValue } from '../../../runtime/model.js';
import { DEVICE_RECORDS, lookup, testInstance } from './fixtures.js';

const FORMATS = [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];

/** Groups records of one instance into its resource map, multiple resources' instances in the order given. */
function contentOf(records: readonly Lwm2mRecord[]): Map<number, ResourceContent> {
  const out = new Map<number, ResourceContent>();
  for (const { path, value } of records) {
    if (path.resourceInstanceId === undefined) out.set(path.resourceId!, value);
    else {
      const m = (out.get(path.resourceId!) as Map<number, ResourceValue> | undefined) ?? new Map<number, ResourceValue>();
      m.set(path.resourceInstanceId, value);
      out.set(path.resourceId!, m);
    }
  }
  return out;
}

/** What a failed encode threw, comparable across the two encoders. */
function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string; path?: unknown };
    return { cls: err.constructor.name, message: err.message, code: err.code, path: err.path };
  }
  return 'no error';
}

describe.each(FORMATS)('Content-Format %s', (format) => {
  const same = (base: { objectId: number; instanceId?: number }, instances: InstanceContent[], records: Lwm2mRecord[], lk: ResourceLookup = lookup) => {
    expect(Buffer.from(encodeInstances(format, base, instances, lk)).toString('hex'))
      .toBe(Buffer.from(encodeRecords(format, base, records, lk)).toString('hex'));
  };

  it('encodes an instance as encodeRecords does (every type, single and multiple)', () => {
    const recs = testInstance(4);
    same({ objectId: 9999, instanceId: 4 }, [{ instanceId: 4, resources: contentOf(recs) }], recs);
    same({ objectId: 3, instanceId: 0 }, [{ instanceId: 0, resources: contentOf(DEVICE_RECORDS) }], DEVICE_RECORDS);
  });

  it('encodes an object of several instances, skipping instances with nothing to say', () => {
    const a = testInstance(0);
    const b = testInstance(300); // a wide (2-byte) instance id in TLV
    const instances: InstanceContent[] = [
      { instanceId: 0, resources: contentOf(a) },
      { instanceId: 1, resources: new Map() },
      { instanceId: 2, resources: new Map<number, ResourceContent>([[10, new Map()]]) },
      { instanceId: 300, resources: contentOf(b) },
    ];
    same({ objectId: 9999 }, instances, [...a, ...b]);
    expect(instanceRecords(9999, instances)).toEqual([...a, ...b]);
  });

  it('sorts resource instances and leaves out an empty multiple resource', () => {
    const unsorted = new Map<number, ResourceValue>([[9, 'c'], [2, 'a'], [5, 'b']]);
    const resources = new Map<number, ResourceContent>([[0, 'x'], [10, unsorted], [11, new Map()], [1, 42]]);
    const records: Lwm2mRecord[] = [
      { path: { objectId: 9999, instanceId: 1, resourceId: 0 }, value: 'x' },
      { path: { objectId: 9999, instanceId: 1, resourceId: 10, resourceInstanceId: 2 }, value: 'a' },
      { path: { objectId: 9999, instanceId: 1, resourceId: 10, resourceInstanceId: 5 }, value: 'b' },
      { path: { objectId: 9999, instanceId: 1, resourceId: 10, resourceInstanceId: 9 }, value: 'c' },
      { path: { objectId: 9999, instanceId: 1, resourceId: 1 }, value: 42 },
    ];
    same({ objectId: 9999, instanceId: 1 }, [{ instanceId: 1, resources }], records);
    expect(instanceRecords(9999, [{ instanceId: 1, resources }])).toEqual(records);
    expect([...unsorted.keys()]).toEqual([9, 2, 5]); // the instance's own map is left as it was
  });

  it('infers types for resources the lookup does not know', () => {
    const none: ResourceLookup = () => undefined;
    const resources = new Map<number, ResourceContent>([
      [0, 'text'], [1, 7], [2, 2.5], [3, true], [4, new Uint8Array([1, 2])], [5, new Map<number, ResourceValue>([[0, 1], [1, -300]])],
    ]);
    same({ objectId: 4242, instanceId: 0 }, [{ instanceId: 0, resources }], instanceRecords(4242, [{ instanceId: 0, resources }]), none);
  });

  it('refuses what encodeRecords refuses, with the same error', () => {
    const base = { objectId: 9999, instanceId: 0 };
    const cases: Array<Map<number, ResourceContent>> = [
      new Map<number, ResourceContent>([[1, 'not an integer']]),
      new Map<number, ResourceContent>([[0, new Map<number, ResourceValue>([[0, 'a']])]]), // single resource, one instance
      new Map<number, ResourceContent>([[0, new Map<number, ResourceValue>([[0, 'a'], [1, 'b']])]]), // and two
      new Map<number, ResourceContent>([[10, 'a']]), // multiple resource, bare value
      new Map<number, ResourceContent>([[20, 'x']]), // executable
      new Map<number, ResourceContent>([[11, new Map<number, ResourceValue>([[3, 1.5]])]]),
    ];
    for (const resources of cases) {
      const instances = [{ instanceId: 0, resources }];
      const expected = failure(() => encodeRecords(format, base, instanceRecords(9999, instances), lookup));
      // TLV refuses every case; SenML carries a multiplicity mismatch as it is, and so must both encoders.
      if (format === ContentFormat.TLV) expect(expected).not.toBe('no error');
      expect(failure(() => encodeInstances(format, base, instances, lookup))).toEqual(expected);
    }
  });

  it('gives each payload its own bytes, also after a refused encode (the writer is reused)', () => {
    const base = { objectId: 3, instanceId: 0 };
    const good = [{ instanceId: 0, resources: contentOf(DEVICE_RECORDS) }];
    const first = encodeInstances(format, base, good, lookup);
    const copy = Uint8Array.from(first);
    expect(() => encodeInstances(format, base, [{ instanceId: 0, resources: new Map<number, ResourceContent>([[0, 'x'], [9, 'no']]) }], lookup)).toThrow();
    const big = [{ instanceId: 0, resources: new Map<number, ResourceContent>([[0, 'y'.repeat(40000)]]) }];
    expect(encodeInstances(format, base, big, lookup).length).toBeGreaterThan(40000);
    const again = encodeInstances(format, base, good, lookup);
    expect(again).toEqual(copy);
    expect(first).toEqual(copy);
  });
});
