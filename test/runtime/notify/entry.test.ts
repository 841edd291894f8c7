// The packed observation entry: token, Accept and flags in small integers read back exactly; the token hash.
import { Entry, tokenHash, type ObservationHandlers } from '../../../runtime/notify/entry.js';
import { BadRequestError } from '../../../runtime/errors.js';

const handlers: ObservationHandlers<number> = { read: () => 0, attributes: () => ({}), send: () => 'sent' };
const peer = { address: '127.0.0.1', port: 5683 };

describe('Entry', () => {
  test.each([[new Uint8Array(0)], [Uint8Array.of(0xff)], [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xfe)]])('packs token %p and reads it back', (token) => {
    const e = new Entry<number>({ peer, path: { objectId: 3 }, token, confirmable: true, accept: 11542, handlers, sequence: 0x1000005 }, 7, 1500);
    expect(e.token).toEqual(token);
    expect(e.tokenKey).toBe(Buffer.from(token).toString('hex'));
    expect(e.hasToken(token)).toBe(true);
    expect(e.hasToken(Uint8Array.of(9))).toBe(false);
    expect(e.tokenHash).toBe(tokenHash(token));
    expect(e.accept).toBe(11542);
    expect(e.confirmable).toBe(true);
    expect(e.active).toBe(true);
    expect(e.sequence).toBe(5); // 24 bits
    expect(e.lastValue).toBe(7);
    expect(e.dueAt).toBe(Infinity);
  });

  test('no Accept reads undefined; a token over 8 bytes is refused', () => {
    const e = new Entry<number>({ peer, path: { objectId: 3 }, token: Uint8Array.of(1), confirmable: false, handlers }, 0, 0);
    expect(e.accept).toBeUndefined();
    expect(e.confirmable).toBe(false);
    expect(() => tokenHash(new Uint8Array(9))).toThrow(BadRequestError);
  });
});
