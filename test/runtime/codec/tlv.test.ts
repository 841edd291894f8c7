// TLV: the LwM2M TS example byte for byte, every type at every depth, 64-bit edges, and malformed input.
import { BadRequestError, Lwm2mError, NotFoundError, ValueError } from '../../../runtime/errors.js';
import { ContentFormat, decodeRecords, encodeRecords, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import { DEVICE_RECORDS, hex, lookup, randomBytes, SAMPLES, testInstance, TYPES } from './fixtures.js';

const TLV = ContentFormat.TLV;
const enc = (base: Lwm2mRecord['path'], recs: Lwm2mRecord[]) => encodeRecords(TLV, base, recs, lookup);
const dec = (base: Lwm2mRecord['path'], bytes: Uint8Array) => decodeRecords(TLV, base, bytes, lookup);

// LwM2M TS 1.0 Appendix (TLV example: Read /3/0 of the Device object).
const DEVICE_TLV = hex(`
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06 41 00 01 41 01 05
  88 07 08 42 00 0E D8 42 01 13 88
  87 08 41 00 7D 42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B 41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`);

describe('TLV', () => {
  it('encodes the Device instance of the LwM2M TS example byte for byte', () => {
    expect(Buffer.from(enc({ objectId: 3, instanceId: 0 }, DEVICE_RECORDS)).toString('hex'))
      .toBe(Buffer.from(DEVICE_TLV).toString('hex'));
  });
  it('decodes the example back to the same records', () => {
    expect(dec({ objectId: 3, instanceId: 0 }, DEVICE_TLV)).toEqual(DEVICE_RECORDS);
  });
  it('wraps instances in object-instance entries at object depth and accepts one wrapped instance at instance depth', () => {
    const bytes = enc({ objectId: 3 }, DEVICE_RECORDS);
    expect(bytes[0]).toBe(0x08);
    expect(bytes[1]).toBe(0x00);
    expect(dec({ objectId: 3 }, bytes)).toEqual(DEVICE_RECORDS);
    expect(dec({ objectId: 3, instanceId: 0 }, bytes)).toEqual(DEVICE_RECORDS);
    expect(() => dec({ objectId: 3, instanceId: 1 }, bytes)).toThrow(BadRequestError);
  });
  it('round-trips every type, single and multiple, at object, instance, resource and resource-instance depth', () => {
    const recs = [...testInstance(0), ...testInstance(300)];
    expect(dec({ objectId: 9999 }, enc({ objectId: 9999 }, recs))).toEqual(recs);
    const inst = testInstance(5);
    expect(dec({ objectId: 9999, instanceId: 5 }, enc({ objectId: 9999, instanceId: 5 }, inst))).toEqual(inst);
    for (let i = 0; i < TYPES.length; i++) {
      for (const rid of [i, 10 + i]) {
        const base = { objectId: 9999, instanceId: 5, resourceId: rid };
        const sub = inst.filter((r) => r.path.resourceId === rid);
        expect(dec(base, enc(base, inst))).toEqual(sub);
      }
      const riBase = { objectId: 9999, instanceId: 5, resourceId: 10 + i, resourceInstanceId: 7 };
      const one = inst.filter((r) => r.path.resourceId === 10 + i && r.path.resourceInstanceId === 7);
      expect(dec(riBase, enc(riBase, one))).toEqual(one);
    }
  });
  it('round-trips every sample value, including 64-bit edges, with identifier ids above 255', () => {
    TYPES.forEach((t, i) => {
      for (const v of SAMPLES[t as keyof typeof SAMPLES]) {
        const base = { objectId: 9999, instanceId: 1000, resourceId: i };
        const out = dec(base, enc(base, [{ path: base, value: v as Lwm2mRecord['value'] }]));
        expect(out).toEqual([{ path: base, value: v }]);
      }
    });
  });
  it('uses the smallest integer and float encodings', () => {
    const base = { objectId: 9999, instanceId: 0, resourceId: 1 };
    const len = (v: number | bigint) => { const n = enc(base, [{ path: base, value: v }]).length - 2; return n > 7 ? n - 1 : n; };
    expect([len(127), len(-128), len(128), len(32767), len(32768), len(2147483647), len(2147483648), len(2n ** 63n - 1n)])
      .toEqual([1, 1, 2, 2, 4, 4, 8, 8]);
    const ub = { objectId: 9999, instanceId: 0, resourceId: 2 };
    expect(Buffer.from(enc(ub, [{ path: ub, value: 2n ** 64n - 1n }])).toString('hex')).toBe('c80208ffffffffffffffff');
    expect(Buffer.from(enc(ub, [{ path: ub, value: 200 }])).toString('hex')).toBe('c102c8');
    const fb = { objectId: 9999, instanceId: 0, resourceId: 3 };
    expect(enc(fb, [{ path: fb, value: 1.5 }]).length).toBe(2 + 4);
    expect(enc(fb, [{ path: fb, value: 0.1 }]).length).toBe(3 + 8);
  });
  it('decodes 8-byte unsigned values above 2^63 as bigint and small 8-byte integers as numbers', () => {
    const ub = { objectId: 9999, instanceId: 0, resourceId: 2 };
    expect(dec(ub, hex('C8 02 08 FF FF FF FF FF FF FF FF'))).toEqual([{ path: ub, value: 2n ** 64n - 1n }]);
    const ib = { objectId: 9999, instanceId: 0, resourceId: 1 };
    expect(dec(ib, hex('C8 01 08 FF FF FF FF FF FF FF FF'))).toEqual([{ path: ib, value: -1 }]);
    expect(dec(ib, hex('C8 01 08 80 00 00 00 00 00 00 00'))).toEqual([{ path: ib, value: -(2n ** 63n) }]);
  });
  it('handles 16-bit and 24-bit length fields', () => {
    const base = { objectId: 9999, instanceId: 0, resourceId: 5 };
    for (const n of [255, 256, 65535, 65536, 70000]) {
      const value = new Uint8Array(n).fill(7);
      const bytes = enc(base, [{ path: base, value }]);
      expect(bytes[0]! & 0x18).toBe(n <= 255 ? 0x08 : n <= 65535 ? 0x10 : 0x18);
      expect(dec(base, bytes)).toEqual([{ path: base, value }]);
    }
  });
  it('refuses type mismatches, unknown resources and records outside the path with typed errors', () => {
    const base = { objectId: 9999, instanceId: 0, resourceId: 4 };
    expect(() => dec(base, hex('C1 04 02'))).toThrow(BadRequestError);
    expect(() => dec({ ...base, resourceId: 1 }, hex('C3 01 00 00 00'))).toThrow(BadRequestError);
    expect(() => dec({ ...base, resourceId: 3 }, hex('C2 03 00 00'))).toThrow(BadRequestError);
    expect(() => dec({ objectId: 9999, instanceId: 0 }, hex('C1 63 00'))).toThrow(NotFoundError);
    expect(() => dec(base, hex('C1 05 00'))).toThrow(BadRequestError);
    expect(() => dec({ objectId: 9999, instanceId: 0 }, hex('C1 14 00'))).toThrow(ValueError);
    expect(() => enc(base, [{ path: base, value: 'yes' }])).toThrow(ValueError);
    expect(() => dec({ objectId: 9999, instanceId: 0, resourceId: 0 }, hex('C2 00 C3 A9').slice(0, 3))).toThrow(BadRequestError);
  });
  it('refuses a multiple resource sent as a single one and the reverse', () => {
    expect(() => dec({ objectId: 9999, instanceId: 0 }, hex('C1 0B 01'))).toThrow(/multiple resource/);
    expect(() => dec({ objectId: 9999, instanceId: 0 }, hex('83 01 41 00 01'))).toThrow(/single resource/);
  });
  it('accepts a Create payload without an instance entry as records without instance id', () => {
    expect(dec({ objectId: 9999 }, hex('C1 01 05'))).toEqual([{ path: { objectId: 9999, resourceId: 1 }, value: 5 }]);
  });
  it('throws typed errors only on truncated payloads', () => {
    const full = enc({ objectId: 9999 }, [...testInstance(0), ...testInstance(1)]);
    for (let n = 1; n < full.length; n++) {
      try {
        dec({ objectId: 9999 }, full.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(Lwm2mError);
      }
    }
    expect(() => dec({ objectId: 9999 }, full.subarray(0, full.length - 1))).toThrow(BadRequestError);
  });
  it('throws typed errors only on random bytes at every depth', () => {
    const bases = [{ objectId: 9999 }, { objectId: 9999, instanceId: 0 }, { objectId: 9999, instanceId: 0, resourceId: 11 },
      { objectId: 3, instanceId: 0 }, { objectId: 9999, instanceId: 0, resourceId: 12, resourceInstanceId: 1 }];
    for (let seed = 1; seed <= 2000; seed++) {
      const bytes = randomBytes(seed, (seed % 40) + 1);
      for (const base of bases) {
        try {
          dec(base, bytes);
        } catch (e) {
          if (!(e instanceof Lwm2mError)) throw e;
        }
      }
    }
  });
});
