// The message layer's small key helpers.
import { bytesEqual, hex, peerKey } from '../../../runtime/coap/bytes.js';

test('hex of a view into a larger buffer covers the view only', () => {
  const whole = Uint8Array.of(0xff, 0x0a, 0x1b, 0xff);
  expect(hex(whole.subarray(1, 3))).toBe('0a1b');
  expect(hex(new Uint8Array(0))).toBe('');
});

test('byte equality and peer keys', () => {
  expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
  expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
  expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
  expect(peerKey({ address: '::1', port: 5683 })).toBe('::1|5683');
});
