// Every format through encodeRecords/decodeRecords: round trips at every depth, wire layouts checked with the independent `cbor` decoder, malformed input.
import cbor from 'cbor';
import {
  BadRequestError, Lwm2mError, NotAcceptableError, NotFoundError, UnsupportedContentFormatError,
} from '../../../runtime/errors.js';
import { ContentFormat, decodeRecords, encodeRecords, isSupportedFormat, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import { DEVICE_RECORDS, lookup, randomBytes, SAMPLES, testInstance, TYPES } from './fixtures.js';

type Path = Lwm2mRecord['path'];
const STRUCTURED = [ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR, ContentFormat.LWM2M_JSON];
const NAMES: Record<number, string> = { 11542: 'TLV', 110: 'SenML JSON', 112: 'SenML CBOR', 11544: 'LwM2M CBOR', 11543: 'LwM2M JSON' };
const roundTrip = (format: number, base: Path, recs: Lwm2mRecord[]) =>
  decodeRecords(format, base, encodeRecords(format, base, recs, lookup), lookup);
const utf8 = (s: string) => new TextEncoder().encode(s);
const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

describe.each(STRUCTURED)('format %s', (format) => {
  const name = NAMES[format]!;
  it(`${name}: round-trips an object of two instances with every type, single and multiple`, () => {
    const recs = [...testInstance(0), ...testInstance(1)];
    expect(roundTrip(format, { objectId: 9999 }, recs)).toEqual(recs);
  });
  it(`${name}: round-trips an instance, each resource and each resource instance`, () => {
    const inst = testInstance(4);
    expect(roundTrip(format, { objectId: 9999, instanceId: 4 }, inst)).toEqual(inst);
    for (const rec of inst) {
      const { resourceId } = rec.path;
      const sub = inst.filter((r) => r.path.resourceId === resourceId);
      const base = { objectId: 9999, instanceId: 4, resourceId: resourceId! };
      expect(roundTrip(format, base, sub)).toEqual(sub);
      expect(roundTrip(format, rec.path, [rec])).toEqual([rec]);
    }
  });
  it(`${name}: round-trips every sample value, including 64-bit edges`, () => {
    TYPES.forEach((t, i) => {
      for (const v of SAMPLES[t as keyof typeof SAMPLES]) {
        const path = { objectId: 9999, instanceId: 2, resourceId: i };
        expect(roundTrip(format, path, [{ path, value: v as Lwm2mRecord['value'] }])).toEqual([{ path, value: v }]);
      }
    });
  });
  it(`${name}: round-trips the Device instance`, () => {
    expect(roundTrip(format, { objectId: 3, instanceId: 0 }, DEVICE_RECORDS)).toEqual(DEVICE_RECORDS);
  });
  it(`${name}: leaves out records outside the request path when encoding`, () => {
    const recs = [...testInstance(0), ...testInstance(1)];
    expect(roundTrip(format, { objectId: 9999, instanceId: 1 }, recs)).toEqual(testInstance(1));
  });
  it(`${name}: refuses payloads for another path and unknown resources`, () => {
    const bytes = encodeRecords(format, { objectId: 9999 }, testInstance(1), lookup);
    expect(() => decodeRecords(format, { objectId: 9999, instanceId: 2 }, bytes, lookup)).toThrow(BadRequestError);
    // TLV carries no object id, so only the self-describing formats can tell a payload for another object.
    if (format !== ContentFormat.TLV) expect(() => decodeRecords(format, { objectId: 9998 }, bytes, lookup)).toThrow(BadRequestError);
    const unknown = encodeRecords(format, { objectId: 9999, instanceId: 1 }, [{ path: { objectId: 9999, instanceId: 1, resourceId: 99 }, value: 'x' }], lookup);
    expect(() => decodeRecords(format, { objectId: 9999, instanceId: 1 }, unknown, lookup)).toThrow(NotFoundError);
  });
  it(`${name}: throws typed errors only on every truncation and on random bytes`, () => {
    const full = encodeRecords(format, { objectId: 9999 }, [...testInstance(0), ...testInstance(1)], lookup);
    const bases: Path[] = [{ objectId: 9999 }, { objectId: 9999, instanceId: 0 }, { objectId: 9999, instanceId: 0, resourceId: 12 },
      { objectId: 9999, instanceId: 0, resourceId: 12, resourceInstanceId: 7 }];
    const attempt = (base: Path, bytes: Uint8Array) => {
      try {
        decodeRecords(format, base, bytes, lookup);
      } catch (e) {
        if (!(e instanceof Lwm2mError)) throw e;
        expect(['4.00', '4.04']).toContain(e.code);
      }
    };
    for (let n = 0; n < full.length; n += 1) attempt({ objectId: 9999 }, full.subarray(0, n));
    // Mutations of a valid payload reach deeper than random bytes do: change 1-3 bytes at random places.
    for (let seed = 1; seed <= 800; seed++) {
      const bytes = full.slice();
      const noise = randomBytes(seed * 7919, 6);
      for (let k = 0; k <= seed % 3; k++) bytes[((noise[2 * k]! << 8) | noise[2 * k + 1]!) % bytes.length] = noise[5 - k]!;
      attempt({ objectId: 9999 }, bytes);
    }
    for (let seed = 1; seed <= 600; seed++) {
      const bytes = randomBytes(seed, (seed % 48) + 1);
      // Start some inputs with a plausible first byte so the fuzz gets past the outermost check.
      if (seed % 3 === 0) bytes[0] = format === ContentFormat.SENML_JSON ? 0x5b : format === ContentFormat.LWM2M_JSON ? 0x7b : format === ContentFormat.TLV ? 0x08 : seed % 2 ? 0x9f : 0xa1;
      for (const base of bases) attempt(base, bytes);
    }
  });
});

describe('SenML JSON layout', () => {
  it('writes the Device instance as the LwM2M TS SenML JSON example', () => {
    const text = new TextDecoder().decode(encodeRecords(ContentFormat.SENML_JSON, { objectId: 3, instanceId: 0 }, DEVICE_RECORDS, lookup));
    expect(text).toBe('[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},'
      + '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},'
      + '{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},'
      + '{"n":"13","v":1367491215},{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]');
  });
  it('names records with a base name and relative names, values in the field of their type', () => {
    const recs: Lwm2mRecord[] = [
      { path: { objectId: 9999, instanceId: 0, resourceId: 0 }, value: 'a"b' },
      { path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: 2n ** 63n - 1n },
      { path: { objectId: 9999, instanceId: 0, resourceId: 4 }, value: true },
      { path: { objectId: 9999, instanceId: 0, resourceId: 5 }, value: new Uint8Array([0xfb, 0xff]) },
      { path: { objectId: 9999, instanceId: 0, resourceId: 6 }, value: new Date(1700000000000) },
      { path: { objectId: 9999, instanceId: 0, resourceId: 17, resourceInstanceId: 3 }, value: { objectId: 3, instanceId: 0 } },
    ];
    const text = new TextDecoder().decode(encodeRecords(ContentFormat.SENML_JSON, { objectId: 9999, instanceId: 0 }, recs, lookup));
    expect(text).toBe('[{"bn":"/9999/0/","n":"0","vs":"a\\"b"},{"n":"1","v":9223372036854775807},{"n":"4","vb":true},'
      + '{"n":"5","vd":"-_8"},{"n":"6","v":1700000000},{"n":"17/3","vlo":"3:0"}]');
    const one = encodeRecords(ContentFormat.SENML_JSON, recs[0]!.path, [recs[0]!], lookup);
    expect(json(one)).toEqual([{ bn: '/9999/0/0', vs: 'a"b' }]);
  });
  it('resolves base names that change between records, absolute names, and padded base64', () => {
    const doc = '[{"bn":"/9999/0/","n":"0","vs":"x"},{"n":"1","v":5},{"bn":"/9999/0/15/","n":"2","vd":"+/8="},{"bn":"","n":"/9999/0/3","v":1.5}]';
    expect(decodeRecords(ContentFormat.SENML_JSON, { objectId: 9999 }, utf8(doc), lookup)).toEqual([
      { path: { objectId: 9999, instanceId: 0, resourceId: 0 }, value: 'x' },
      { path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: 5 },
      { path: { objectId: 9999, instanceId: 0, resourceId: 15, resourceInstanceId: 2 }, value: new Uint8Array([0xfb, 0xff]) },
      { path: { objectId: 9999, instanceId: 0, resourceId: 3 }, value: 1.5 },
    ]);
  });
  it('applies a base value, resolves the time (bt + t) and ignores units', () => {
    const doc = '[{"bn":"/9999/0/","bt":1.7e9,"bv":10,"n":"1","v":5,"u":"Cel","t":-2.5}]';
    expect(decodeRecords(ContentFormat.SENML_JSON, { objectId: 9999 }, utf8(doc), lookup))
      .toEqual([{ path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: 15, time: 1.7e9 - 2.5 }]);
    // Without bt or t a record has no time; a bad one is a malformed payload.
    expect(decodeRecords(ContentFormat.SENML_JSON, { objectId: 9999 }, utf8('[{"bn":"/9999/0/1","v":5}]'), lookup)[0]).not.toHaveProperty('time');
    expect(() => decodeRecords(ContentFormat.SENML_JSON, { objectId: 9999 }, utf8('[{"bn":"/9999/0/1","v":5,"t":"now"}]'), lookup))
      .toThrow(expect.objectContaining({ code: '4.00' }));
  });
  it('refuses JSON that is not SenML, values in the wrong field, must-understand fields', () => {
    const bad = ['{"bn":"/9999/0/0","vs":"x"}', '[{"bn":"/9999/0/0","v":"x"}]', '[{"bn":"/9999/0/0"}]', '[1]',
      '[{"bn":"/9999/0/1","v":1.5}]', '[{"bn":"/9999/0/1","v":1e400}]', '[{"bn":"/9999/0/4","vb":1}]', '[{"bn":"/9999/0/0","vs":"x","foo_":1}]',
      '[{"bn":"/9999/0","vs":"x"}]', '[{"bn":"/9999/0/11","v":1}]', '[{"bn":"/9999/0/0/1","vs":"x"}]', '[{"bn":"nope","vs":"x"}]',
      '[{"bn":"/9999/0/0","vs":"x"}] x', '[{"bn":"/9999/0/0","vs":"x","vs":"y"}]', `${'['.repeat(5000)}`, '[{"bn":"/9999/0/1","v":18446744073709551616}]'];
    for (const doc of bad) {
      expect(() => decodeRecords(ContentFormat.SENML_JSON, { objectId: 9999 }, utf8(doc), lookup)).toThrow(expect.objectContaining({ code: '4.00' }));
    }
  });
});

describe('CBOR output read by the independent cbor package', () => {
  const recs: Lwm2mRecord[] = [
    { path: { objectId: 9999, instanceId: 0, resourceId: 0 }, value: 'hé' },
    { path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: -(2n ** 63n) },
    { path: { objectId: 9999, instanceId: 0, resourceId: 2 }, value: 2n ** 64n - 1n },
    { path: { objectId: 9999, instanceId: 0, resourceId: 3 }, value: 0.1 },
    { path: { objectId: 9999, instanceId: 0, resourceId: 4 }, value: false },
    { path: { objectId: 9999, instanceId: 0, resourceId: 5 }, value: new Uint8Array([1, 2]) },
    { path: { objectId: 9999, instanceId: 0, resourceId: 6 }, value: new Date(1700000000000) },
    { path: { objectId: 9999, instanceId: 0, resourceId: 7 }, value: { objectId: 3, instanceId: 1 } },
    { path: { objectId: 9999, instanceId: 0, resourceId: 11, resourceInstanceId: 0 }, value: 4294967296 },
    { path: { objectId: 9999, instanceId: 0, resourceId: 11, resourceInstanceId: 1 }, value: -70000 },
  ];
  it('SenML CBOR: integer labels, exact 64-bit integers, byte strings, "vlo"', () => {
    const bytes = encodeRecords(ContentFormat.SENML_CBOR, { objectId: 9999, instanceId: 0 }, recs, lookup);
    const doc = cbor.decodeFirstSync(Buffer.from(bytes)) as Array<Map<number | string, unknown>>;
    const plain = doc.map((m) => Object.fromEntries([...m].map(([k, v]) => [String(k), v instanceof Uint8Array ? [...v] : v])));
    expect(plain).toEqual([
      { '-2': '/9999/0/', 0: '0', 3: 'hé' },
      { 0: '1', 2: -(2n ** 63n) },
      { 0: '2', 2: 2n ** 64n - 1n },
      { 0: '3', 2: 0.1 },
      { 0: '4', 4: false },
      { 0: '5', 8: [1, 2] },
      { 0: '6', 2: 1700000000 },
      { 0: '7', vlo: '3:1' },
      { 0: '11/0', 2: 4294967296 },
      { 0: '11/1', 2: -70000 },
    ]);
  });
  it('SenML CBOR: floats in the shortest exact width (16, 32 or 64 bits), each read back exactly by the cbor package', () => {
    const path = { objectId: 9999, instanceId: 0, resourceId: 3 };
    const hexOf = (value: number) => Buffer.from(encodeRecords(ContentFormat.SENML_CBOR, path, [{ path, value }], lookup)).toString('hex');
    for (const value of [1.5, -0, 65504, 5.960464477539063e-8, 100000.5, 3.4028234663852886e38, 0.1, 1e300]) {
      const ours = hexOf(value);
      expect(cbor.decodeFirstSync(Buffer.from(ours, 'hex'))[0].get(2)).toBe(value);
    }
    expect(hexOf(1.5).endsWith('02f93e00')).toBe(true);
    expect(hexOf(65504).endsWith('02f97bff')).toBe(true);
    expect(hexOf(5.960464477539063e-8).endsWith('02f90001')).toBe(true);
    expect(hexOf(-0).endsWith('02f98000')).toBe(true);
    expect(hexOf(100000.5).endsWith('02fa47c35040')).toBe(true);
    expect(hexOf(0.1).endsWith('02fb3fb999999999999a')).toBe(true);
  });
  it('LwM2M CBOR: nested maps from the object id, values typed', () => {
    const bytes = encodeRecords(ContentFormat.LWM2M_CBOR, { objectId: 9999, instanceId: 0 }, recs, lookup);
    const doc = cbor.decodeFirstSync(Buffer.from(bytes)) as Map<number, Map<number, Map<number, unknown>>>;
    const inst = doc.get(9999)!.get(0)!;
    expect([...doc.keys()]).toEqual([9999]);
    expect(inst.get(0)).toBe('hé');
    expect(inst.get(1)).toBe(-(2n ** 63n));
    expect(inst.get(2)).toBe(2n ** 64n - 1n);
    expect(inst.get(3)).toBe(0.1);
    expect(inst.get(4)).toBe(false);
    expect([...(inst.get(5) as Uint8Array)]).toEqual([1, 2]);
    expect(inst.get(6)).toBe(1700000000);
    expect(inst.get(7)).toBe('3:1');
    expect([...(inst.get(11) as Map<number, unknown>)]).toEqual([[0, 4294967296], [1, -70000]]);
  });
  it('LwM2M CBOR: reads compressed path keys, indefinite lengths and tag 1 times written by another encoder', () => {
    // {[9999, 0]: {1: 42, [11, 3]: 7}, [9999, 0, 6]: 1(1700000000)} and the same with indefinite-length maps.
    const m = new Map<unknown, unknown>([
      [[9999, 0], new Map<unknown, unknown>([[1, 42], [[11, 3], 7]])],
      [[9999, 0, 6], new cbor.Tagged(1, 1700000000)],
    ]);
    const expected = [
      { path: { objectId: 9999, instanceId: 0, resourceId: 1 }, value: 42 },
      { path: { objectId: 9999, instanceId: 0, resourceId: 11, resourceInstanceId: 3 }, value: 7 },
      { path: { objectId: 9999, instanceId: 0, resourceId: 6 }, value: new Date(1700000000000) },
    ];
    expect(decodeRecords(ContentFormat.LWM2M_CBOR, { objectId: 9999 }, cbor.encode(m), lookup)).toEqual(expected);
    const indefinite = Buffer.from('bf8219270f00bf01182a820b0307ffff', 'hex');
    expect(decodeRecords(ContentFormat.LWM2M_CBOR, { objectId: 9999 }, indefinite, lookup)).toEqual(expected.slice(0, 2));
  });
  it('LwM2M CBOR: refuses values above resource depth, paths deeper than four, null values, non-map roots', () => {
    const bad = [new Map([[9999, 1]]), new Map([[[9999, 0, 1, 2, 3], 1]]), new Map([[[9999, 0, 1], null]]), [1], 'x',
      new Map([['a', 1]]), new Map([[[9999, 0, 11], 5]]), new Map([[[9999, 0, 1], 'x']])];
    for (const doc of bad) {
      expect(() => decodeRecords(ContentFormat.LWM2M_CBOR, { objectId: 9999 }, cbor.encode(doc), lookup)).toThrow(BadRequestError);
    }
  });
});

describe('dispatch', () => {
  it('knows its formats and answers 4.15 and 4.06 for others', () => {
    expect([0, 42, 11542, 110, 112, 11544].every(isSupportedFormat)).toBe(true);
    expect(isSupportedFormat(40)).toBe(false);
    expect(isSupportedFormat(60)).toBe(false);
    expect(() => decodeRecords(60, { objectId: 3 }, new Uint8Array(1), lookup)).toThrow(UnsupportedContentFormatError);
    expect(() => encodeRecords(60, { objectId: 3 }, [], lookup)).toThrow(NotAcceptableError);
  });
});
