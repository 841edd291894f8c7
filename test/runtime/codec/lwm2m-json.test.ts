// LwM2M JSON (11543): the LwM2M 1.0 layout, what 1.0 peers send (lwm2m-codec as an independent encoder and decoder), and refusals.
import { createRequire } from 'node:module';
import { BadRequestError, Lwm2mError } from '../../../runtime/errors.js';
import { decodeLwm2mJson, encodeLwm2mJson } from '../../../runtime/codec/lwm2m-json.js';
import { DEVICE_RECORDS, lookup } from './fixtures.js';

const lwm2mCodec = createRequire(import.meta.url)('lwm2m-codec') as {
  encode(format: 'json', path: string, value: Record<string, unknown>): Buffer;
  decode(format: 'json', path: string, payload: Buffer): Record<string, unknown>;
};
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const dev = { objectId: 3, instanceId: 0 };

describe('LwM2M JSON encoding', () => {
  it('writes the Device instance as the LwM2M 1.0 JSON example lays it out: bn "/3/0/", names relative, sv/v', () => {
    const out = text(encodeLwm2mJson(dev, DEVICE_RECORDS, lookup));
    expect(out.startsWith('{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},')).toBe(true);
    expect(out).toContain('{"n":"6/0","v":1},{"n":"6/1","v":5}');
    expect(out).toContain('{"n":"13","v":1367491215}');
    expect(JSON.parse(out)).toHaveProperty('e');
  });

  it('one resource: bn is its path and the entry has no name', () => {
    const rec = { path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 87 };
    expect(text(encodeLwm2mJson(rec.path, [rec], lookup))).toBe('{"bn":"/3/0/9","e":[{"v":87}]}');
  });

  it('Opaque goes in sv as base64, Objlnk in ov, Boolean in bv, 64-bit integers keep every digit', () => {
    const base = { objectId: 9999, instanceId: 0 };
    const recs = [
      { path: { ...base, resourceId: 1 }, value: 2n ** 63n - 1n },
      { path: { ...base, resourceId: 4 }, value: true },
      { path: { ...base, resourceId: 5 }, value: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) },
      { path: { ...base, resourceId: 7 }, value: { objectId: 3, instanceId: 1 } },
    ];
    expect(text(encodeLwm2mJson(base, recs, lookup)))
      .toBe('{"bn":"/9999/0/","e":[{"n":"1","v":9223372036854775807},{"n":"4","bv":true},{"n":"5","sv":"3q2+7w=="},{"n":"7","ov":"3:1"}]}');
  });
});

describe('LwM2M JSON against lwm2m-codec (an independent 1.0 implementation)', () => {
  it('lwm2m-codec decodes what we encode for a Device instance', () => {
    const ours = encodeLwm2mJson(dev, DEVICE_RECORDS, lookup);
    const theirs = lwm2mCodec.decode('json', '/3/0', Buffer.from(ours));
    expect(theirs).toMatchObject({ manuf: 'Open Mobile Alliance', model: 'Lightweight M2M Client', serial: '345000123', battLevel: 100 });
  });

  it('we decode what lwm2m-codec encodes (its bn has no trailing "/")', () => {
    const theirs = lwm2mCodec.encode('json', '/3/0', { 0: 'ACME', 9: 42, 13: 1367491215 });
    expect(text(theirs)).toContain('"bn":"/3/0"');
    expect(decodeLwm2mJson(dev, theirs, lookup)).toEqual([
      { path: { objectId: 3, instanceId: 0, resourceId: 0 }, value: 'ACME' },
      { path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 42 },
      { path: { objectId: 3, instanceId: 0, resourceId: 13 }, value: new Date(1367491215000) },
    ]);
  });
});

describe('LwM2M JSON decoding refuses', () => {
  it.each([
    ['a SenML array', '[{"n":"0","vs":"x"}]', /object with "e"/],
    ['no "e"', '{"bn":"/3/0/"}', /no "e" array/],
    ['a value in the wrong field', '{"bn":"/3/0/","e":[{"n":"9","sv":"87"}]}', /must be in "v", not "sv"/],
    ['a fraction for an Integer', '{"bn":"/3/0/","e":[{"n":"9","v":8.5}]}', /not a valid Integer/],
    ['an entry outside the request path', '{"bn":"/3/1/","e":[{"n":"9","v":8}]}', /outside the request path/],
    ['a name that is no path', '{"bn":"/3/0/","e":[{"n":"x","v":8}]}', /not an LwM2M path/],
    ['an entry without a value', '{"bn":"/3/0/","e":[{"n":"9"}]}', /entry has no value/],
  ])('%s: 4.00 naming the problem', (_name, payload, message) => {
    let err: unknown;
    try {
      decodeLwm2mJson(dev, utf8(payload), lookup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Lwm2mError).code).toBe('4.00');
    expect((err as Error).message).toMatch(message);
  });

  it('"5.0" is accepted as the Integer 5 (v is a number field in 1.0)', () => {
    expect(decodeLwm2mJson(dev, utf8('{"bn":"/3/0/","e":[{"n":"9","v":5.0}]}'), lookup)[0]!.value).toBe(5);
  });
});
