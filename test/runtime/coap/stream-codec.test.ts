import { decodeBlock, encodeBlock } from '../../../runtime/coap/message.js';
import {
  SIGNAL, StreamFrameDecoder, StreamFramingError, codeFromString, codeToString, encodeStreamMessage, type StreamMessage,
} from '../../../runtime/coap/stream-codec.js';

const token = Uint8Array.of(0xca, 0xfe);

function roundTrip(msg: StreamMessage, max = 1 << 20): StreamMessage {
  const out = new StreamFrameDecoder(max).push(encodeStreamMessage(msg));
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe('RFC 8323 framing', () => {
  it('encodes a bare GET exactly as RFC 8323 figure 4 lays it out', () => {
    // Len 0, TKL 2, code 0.01, token, no options.
    expect([...encodeStreamMessage({ code: 0x01, token, options: [], payload: new Uint8Array(0) })]).toEqual([0x02, 0x01, 0xca, 0xfe]);
    // Uri-Path "a": one option byte (delta 11, len 1) + value → Len 2.
    expect([...encodeStreamMessage({ code: 0x01, token: new Uint8Array(0), options: [{ number: 11, value: Uint8Array.of(0x61) }], payload: new Uint8Array(0) })])
      .toEqual([0x20, 0x01, 0xb1, 0x61]);
  });

  // Body length = 1 (marker) + payload; check each side of every extended-length boundary.
  it.each([11, 12, 13, 267, 268, 269, 65803, 65804, 65805, 70000])('round-trips a body of %i bytes', (bodyLength) => {
    const payload = new Uint8Array(bodyLength - 1).map((_, i) => i & 0xff);
    const frame = encodeStreamMessage({ code: 0x45, token, options: [], payload });
    const lenNibble = frame[0]! >> 4;
    const expectedNibble = bodyLength < 13 ? bodyLength : bodyLength < 269 ? 13 : bodyLength < 65805 ? 14 : 15;
    expect(lenNibble).toBe(expectedNibble);
    const back = roundTrip({ code: 0x45, token, options: [], payload });
    expect(Buffer.from(back.payload).equals(Buffer.from(payload))).toBe(true);
    expect([...back.token]).toEqual([...token]);
  });

  it('round-trips options with extended deltas and lengths, in order', () => {
    const options = [
      { number: 11, value: Buffer.from('rd') },
      { number: 11, value: Buffer.from('x'.repeat(300)) },
      { number: 15, value: Buffer.from('ep=dev1') },
      { number: 60, value: Uint8Array.of(1, 0) },
      { number: 2048, value: new Uint8Array(0) },
    ];
    const back = roundTrip({ code: 0x02, token, options, payload: Buffer.from('hello') });
    expect(back.options.map((o) => [o.number, Buffer.from(o.value).toString()])).toEqual(options.map((o) => [o.number, Buffer.from(o.value).toString()]));
    expect(Buffer.from(back.payload).toString()).toBe('hello');
  });

  it('reassembles frames delivered one byte at a time and several per chunk', () => {
    const a = encodeStreamMessage({ code: SIGNAL.CSM, token: new Uint8Array(0), options: [{ number: 2, value: Uint8Array.of(4, 0x80) }], payload: new Uint8Array(0) });
    const b = encodeStreamMessage({ code: 0x45, token, options: [], payload: new Uint8Array(500).fill(7) });
    const all = Buffer.concat([a, b, a]);
    const dec = new StreamFrameDecoder(4096);
    const seen: StreamMessage[] = [];
    for (const byte of all) seen.push(...dec.push(Uint8Array.of(byte)));
    expect(seen.map((m) => m.code)).toEqual([SIGNAL.CSM, 0x45, SIGNAL.CSM]);
    expect(seen[1]!.payload.length).toBe(500);
    expect(dec.pending).toBe(0);
    expect(new StreamFrameDecoder(4096).push(all).length).toBe(3);
  });

  it('refuses a frame larger than Max-Message-Size from its header alone', () => {
    const frame = encodeStreamMessage({ code: 0x45, token, options: [], payload: new Uint8Array(2000) });
    const dec = new StreamFrameDecoder(1152);
    expect(() => dec.push(frame.subarray(0, 4))).toThrow(StreamFramingError);
  });

  it('refuses reserved token lengths, truncated options and an empty payload after the marker', () => {
    expect(() => new StreamFrameDecoder(100).push(Uint8Array.of(0x09, 0x01))).toThrow(StreamFramingError);
    // Len 2: option header says 5 value bytes but only 1 follows.
    expect(() => new StreamFrameDecoder(100).push(Uint8Array.of(0x20, 0x01, 0xb5, 0x61))).toThrow(StreamFramingError);
    // Len 1: payload marker and nothing after it.
    expect(() => new StreamFrameDecoder(100).push(Uint8Array.of(0x10, 0x45, 0xff))).toThrow(StreamFramingError);
    // Option nibble 15 is reserved.
    expect(() => new StreamFrameDecoder(100).push(Uint8Array.of(0x10, 0x45, 0xf0))).toThrow(StreamFramingError);
  });

  it('converts codes and block values', () => {
    expect(codeFromString('2.05')).toBe(0x45);
    expect(codeFromString('7.01')).toBe(SIGNAL.CSM);
    expect(codeToString(0x84)).toBe('4.04');
    expect(() => codeFromString('2.32')).toThrow(RangeError);
    expect(decodeBlock(encodeBlock({ num: 1000, more: true, szx: 6 }))).toEqual({ num: 1000, more: true, szx: 6 });
    expect([...encodeBlock({ num: 0, more: false, szx: 0 })]).toEqual([]);
  });
});
