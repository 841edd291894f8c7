// stampBaseTime: a SenML pack (JSON, CBOR) gains a base time on its first record; other formats go out unchanged.
import { decode } from 'cbor-x';
import { ContentFormat, decodeRecords, encodeRecords } from '../../../runtime/codec/index.js';
import type { ResourceLookup } from '../../../runtime/codec/index.js';
import type { ResourceModel } from '../../../runtime/model.js';
import { carriesTime, stampBaseTime } from '../../../runtime/notify/timestamp.js';

const battery: ResourceModel = { id: 9, name: 'Battery Level', operations: 'R', type: 'Integer', multiple: false, mandatory: false };
const offset: ResourceModel = { id: 14, name: 'UTC Offset', operations: 'RW', type: 'String', multiple: false, mandatory: false };
const lookup: ResourceLookup = (_o, id) => (id === 9 ? battery : id === 14 ? offset : undefined);
const instance = { objectId: 3, instanceId: 0 };
const records = [
  { path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 42 },
  { path: { objectId: 3, instanceId: 0, resourceId: 14 }, value: '+01:00' },
];
const text = new TextDecoder();

describe('stampBaseTime', () => {
  it('puts bt first in the first SenML JSON record, keeping the rest and the values our decoder reads', () => {
    const stamped = stampBaseTime(ContentFormat.SENML_JSON, encodeRecords(ContentFormat.SENML_JSON, instance, records, lookup), 1_764_626_400_123);
    expect(JSON.parse(text.decode(stamped))).toEqual([{ bt: 1764626400.123, bn: '/3/0/', n: '9', v: 42 }, { n: '14', vs: '+01:00' }]);
    expect(decodeRecords(ContentFormat.SENML_JSON, instance, stamped, lookup).map((r) => r.value)).toEqual([42, '+01:00']);
  });

  it('adds label -3 to the first SenML CBOR record: whole seconds as an integer, else a float', () => {
    const payload = encodeRecords(ContentFormat.SENML_CBOR, instance, records, lookup);
    const whole = decode(Buffer.from(stampBaseTime(ContentFormat.SENML_CBOR, payload, 1_764_626_400_000))) as Array<Map<number, unknown> | Record<string, unknown>>;
    const first = whole[0] as Record<string, unknown>;
    expect(first['-3']).toBe(1764626400);
    expect(first['2']).toBe(42);
    const fraction = decode(Buffer.from(stampBaseTime(ContentFormat.SENML_CBOR, payload, 1_764_626_400_500))) as Array<Record<string, unknown>>;
    expect(fraction[0]!['-3']).toBe(1764626400.5);
    expect(decodeRecords(ContentFormat.SENML_CBOR, instance, stampBaseTime(ContentFormat.SENML_CBOR, payload, 1e12), lookup)).toHaveLength(2);
  });

  it('leaves a stamped pack alone (no second bt), and formats without time as they are', () => {
    const once = stampBaseTime(ContentFormat.SENML_JSON, encodeRecords(ContentFormat.SENML_JSON, instance, records, lookup), 1000);
    expect(stampBaseTime(ContentFormat.SENML_JSON, once, 2000)).toBe(once);
    const cbor = stampBaseTime(ContentFormat.SENML_CBOR, encodeRecords(ContentFormat.SENML_CBOR, instance, records, lookup), 1000);
    expect(stampBaseTime(ContentFormat.SENML_CBOR, cbor, 2000)).toBe(cbor);
    for (const format of [ContentFormat.TLV, ContentFormat.LWM2M_CBOR, ContentFormat.TEXT]) {
      expect(carriesTime(format)).toBe(false);
      const path = format === ContentFormat.TEXT ? { ...instance, resourceId: 9 } : instance;
      const payload = encodeRecords(format, path, format === ContentFormat.TEXT ? records.slice(0, 1) : records, lookup);
      expect(stampBaseTime(format, payload, 1000)).toBe(payload);
    }
    expect(carriesTime(ContentFormat.SENML_JSON) && carriesTime(ContentFormat.SENML_CBOR)).toBe(true);
  });

  it('leaves an empty pack or bytes that are no pack unchanged', () => {
    for (const [format, bytes] of [
      [ContentFormat.SENML_JSON, new TextEncoder().encode('[]')],
      [ContentFormat.SENML_JSON, new TextEncoder().encode('nonsense')],
      [ContentFormat.SENML_CBOR, new Uint8Array([0x80])],
      [ContentFormat.SENML_CBOR, new Uint8Array([0x81, 0x01])],
      [ContentFormat.SENML_CBOR, new Uint8Array([])],
    ] as const) {
      expect(stampBaseTime(format, bytes, 1000)).toBe(bytes);
    }
  });
});
