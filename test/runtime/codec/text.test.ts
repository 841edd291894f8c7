// Plain text and opaque: one value of a single resource or resource instance, every type, and the 4.06/4.00 edges.
import { BadRequestError, Lwm2mError, NotAcceptableError, NotFoundError, ValueError } from '../../../runtime/errors.js';
import { ContentFormat, decodeRecords, encodeRecords, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import { lookup, randomBytes, SAMPLES, TYPES } from './fixtures.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe('text/plain', () => {
  it('round-trips every sample value of every type, for resources and resource instances', () => {
    TYPES.forEach((t, i) => {
      for (const v of SAMPLES[t as keyof typeof SAMPLES]) {
        for (const path of [{ objectId: 9999, instanceId: 0, resourceId: i },
          { objectId: 9999, instanceId: 0, resourceId: 10 + i, resourceInstanceId: 3 }]) {
          const rec = { path, value: v as Lwm2mRecord['value'] };
          const bytes = encodeRecords(ContentFormat.TEXT, path, [rec], lookup);
          expect(decodeRecords(ContentFormat.TEXT, path, bytes, lookup)).toEqual([rec]);
        }
      }
    });
  });
  it('writes the LwM2M text forms', () => {
    const enc = (rid: number, value: Lwm2mRecord['value']) => {
      const path = { objectId: 9999, instanceId: 0, resourceId: rid };
      return str(encodeRecords(ContentFormat.TEXT, path, [{ path, value }], lookup));
    };
    expect(enc(4, true)).toBe('1');
    expect(enc(4, false)).toBe('0');
    expect(enc(6, new Date(1367491215999))).toBe('1367491215');
    expect(enc(7, { objectId: 3, instanceId: 0 })).toBe('3:0');
    expect(enc(1, -(2n ** 63n))).toBe('-9223372036854775808');
    expect(enc(2, 2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(enc(5, new Uint8Array([0xfb, 0xff]))).toBe('+/8=');
  });
  it('parses integers beyond 2^53 exactly and refuses out-of-range or malformed text', () => {
    const path = { objectId: 9999, instanceId: 0, resourceId: 1 };
    const dec = (s: string, p = path) => decodeRecords(ContentFormat.TEXT, p, text(s), lookup)[0]!.value;
    expect(dec('9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(dec('-12')).toBe(-12);
    expect(() => dec('9223372036854775808')).toThrow(ValueError);
    expect(() => dec('1.5')).toThrow(ValueError);
    expect(() => dec('')).toThrow(ValueError);
    expect(() => dec('-1', { ...path, resourceId: 2 })).toThrow(ValueError);
    expect(() => dec('2', { ...path, resourceId: 4 })).toThrow(ValueError);
    expect(() => dec('3:x', { ...path, resourceId: 7 })).toThrow(ValueError);
    expect(() => dec('abc', { ...path, resourceId: 3 })).toThrow(ValueError);
    expect(dec('1e3', { ...path, resourceId: 3 })).toBe(1000);
  });
  it('refuses more than one value, a multiple resource, or an instance target with 4.06', () => {
    const path = { objectId: 9999, instanceId: 0, resourceId: 11 };
    const recs = [{ path: { ...path, resourceInstanceId: 0 }, value: 1 }];
    expect(() => encodeRecords(ContentFormat.TEXT, path, recs, lookup)).toThrow(NotAcceptableError);
    expect(() => encodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0 },
      [{ path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: 1 }], lookup)).toThrow(NotAcceptableError);
  });
  it('refuses decoding to an instance, a multiple resource, an unknown resource, invalid UTF-8', () => {
    expect(() => decodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0 }, text('1'), lookup)).toThrow(BadRequestError);
    expect(() => decodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0, resourceId: 11 }, text('1'), lookup)).toThrow(BadRequestError);
    expect(() => decodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0, resourceId: 99 }, text('1'), lookup)).toThrow(NotFoundError);
    expect(() => decodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0, resourceId: 0 }, new Uint8Array([0xff]), lookup)).toThrow(BadRequestError);
  });
  it('throws typed errors only on random bytes', () => {
    for (let seed = 1; seed <= 300; seed++) {
      for (let rid = 0; rid < 9; rid++) {
        try {
          decodeRecords(ContentFormat.TEXT, { objectId: 9999, instanceId: 0, resourceId: rid }, randomBytes(seed, seed % 12), lookup);
        } catch (e) {
          if (!(e instanceof Lwm2mError)) throw e;
        }
      }
    }
  });
});

describe('opaque', () => {
  const path = { objectId: 9999, instanceId: 0, resourceId: 5 };
  it('carries the raw bytes of an Opaque resource or resource instance', () => {
    const value = new Uint8Array([0, 1, 254, 255]);
    expect(encodeRecords(ContentFormat.OPAQUE, path, [{ path, value }], lookup)).toEqual(value);
    expect(decodeRecords(ContentFormat.OPAQUE, path, value, lookup)).toEqual([{ path, value }]);
    const ri = { objectId: 9999, instanceId: 0, resourceId: 15, resourceInstanceId: 2 };
    expect(decodeRecords(ContentFormat.OPAQUE, ri, value, lookup)).toEqual([{ path: ri, value }]);
  });
  it('refuses non-Opaque resources: 4.06 on encode, 4.00 on decode', () => {
    const p = { ...path, resourceId: 0 };
    expect(() => encodeRecords(ContentFormat.OPAQUE, p, [{ path: p, value: 'x' }], lookup)).toThrow(NotAcceptableError);
    expect(() => decodeRecords(ContentFormat.OPAQUE, p, text('x'), lookup)).toThrow(BadRequestError);
  });
});
