// The state file format: tagged values round-trip, and torn, edited or foreign files are refused as corrupt.
import { createHash } from 'node:crypto';
import { decodeSections, encodeSections } from '../../../runtime/store/encoding.js';
import { StoreError } from '../../../runtime/store/types.js';

describe('encodeSections / decodeSections', () => {
  it('round-trips bytes, dates, bigints, nested objects and arrays; drops undefined members', () => {
    const sections = {
      security: [{ uri: 'coaps://h:5684', key: new Uint8Array([0, 1, 254, 255]), ssid: 101, bootstrap: false }],
      firmware: { state: 2, at: new Date(1_700_000_000_000), total: 2n ** 63n - 1n, note: undefined, none: null },
    };
    const back = decodeSections(encodeSections(sections), 'x');
    expect(back).toEqual({
      security: [{ uri: 'coaps://h:5684', key: new Uint8Array([0, 1, 254, 255]), ssid: 101, bootstrap: false }],
      firmware: { state: 2, at: new Date(1_700_000_000_000), total: 2n ** 63n - 1n, none: null },
    });
    expect((back.security as unknown[])[0]).toHaveProperty('key', expect.any(Uint8Array));
  });

  it('an object that only looks like a tag keeps its other members', () => {
    const back = decodeSections(encodeSections({ a: { $bytes: 'AA==', other: 1 } }), 'x');
    expect(back).toEqual({ a: { $bytes: 'AA==', other: 1 } });
  });

  it('refuses NaN and Infinity instead of writing null', () => {
    expect(() => encodeSections({ a: Number.NaN })).toThrow(TypeError);
  });

  const good = encodeSections({ servers: [{ ssid: 1, lifetime: 300 }] });
  it.each([
    ['truncated mid-body', good.slice(0, good.length - 10), 'corrupt', /checksum/],
    ['one byte changed', good.replace('300', '301'), 'corrupt', /checksum/],
    ['empty', '', 'corrupt', /header/],
    ['not ours', '{"servers":[]}\n', 'corrupt', /header/],
    ['a later format', good.replace('lwm2m-gen-state 1 ', 'lwm2m-gen-state 9 '), 'unsupported', /version 9/],
  ])('%s: StoreError(%s) naming the file', (_name, text, failure, message) => {
    let err: unknown;
    try {
      decodeSections(text, '/var/lib/dev/state.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).failure).toBe(failure);
    expect((err as Error).message).toMatch(/^\/var\/lib\/dev\/state\.json: /);
    expect((err as Error).message).toMatch(message);
  });

  it('a checksum-valid body that is not JSON sections is corrupt', () => {
    const body = '[1,2]';
    const text = `lwm2m-gen-state 1 ${createHash('sha256').update(body).digest('hex')}\n${body}\n`;
    expect(() => decodeSections(text, 'x')).toThrow(/not a set of sections/);
  });
});
