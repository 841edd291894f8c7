// Framing checks: what counts as a malformed datagram, and round trips of options, uints and Block values.
import {
  OptionNumber,
  decodeBlock,
  decodeMessage,
  decodeUint,
  encodeBlock,
  encodeMessage,
  encodeUint,
  isWellFormed,
} from '../../../runtime/coap/index.js';
import { getStringOptions } from '../../../runtime/coap/message.js';
import * as coapPacket from 'coap-packet';

const te = new TextEncoder();

describe('isWellFormed / decodeMessage', () => {
  const ok = encodeMessage({
    type: 'CON',
    code: '0.01',
    messageId: 0x1234,
    token: Uint8Array.of(1, 2, 3),
    options: [
      { number: OptionNumber.UriQuery, value: te.encode('b') },
      { number: OptionNumber.UriPath, value: te.encode('3') },
      { number: OptionNumber.UriPath, value: te.encode('0') },
      { number: 2048, value: new Uint8Array(300) },
    ],
    payload: te.encode('hi'),
  });

  test('a valid message round-trips; repeated options keep their order', () => {
    const m = decodeMessage(ok)!;
    expect(m).toMatchObject({ type: 'CON', code: '0.01', messageId: 0x1234 });
    expect(Array.from(m.token)).toEqual([1, 2, 3]);
    expect(m.options.map((o) => o.number)).toEqual([11, 11, 15, 2048]);
    expect(new TextDecoder().decode(m.options[0]!.value)).toBe('3');
    expect(new TextDecoder().decode(m.options[1]!.value)).toBe('0');
    expect(m.options[3]!.value).toHaveLength(300);
    expect(new TextDecoder().decode(m.payload)).toBe('hi');
  });

  test.each([
    ['shorter than a header', Uint8Array.of(0x40, 0x01, 0x00)],
    ['version 2', Uint8Array.of(0x80, 0x01, 0x00, 0x01)],
    ['token length 9', Uint8Array.of(0x49, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9)],
    ['token cut short', Uint8Array.of(0x44, 0x01, 0, 1, 1, 2)],
    ['empty message with a token', Uint8Array.of(0x41, 0x00, 0, 1, 7)],
    ['empty message with bytes after the header', Uint8Array.of(0x40, 0x00, 0, 1, 0xff)],
    ['payload marker and no payload', Uint8Array.of(0x40, 0x01, 0, 1, 0xff)],
    ['option value cut short', Uint8Array.of(0x40, 0x01, 0, 1, 0xb5, 0x61)],
    ['option delta 15', Uint8Array.of(0x40, 0x01, 0, 1, 0xf1, 0x61)],
    ['option length 15', Uint8Array.of(0x40, 0x01, 0, 1, 0x1f, 0x61)],
    ['extended delta missing', Uint8Array.of(0x40, 0x01, 0, 1, 0xd0)],
    ['extended length missing', Uint8Array.of(0x40, 0x01, 0, 1, 0x1e, 0x01)],
    ['reserved code class 1', Uint8Array.of(0x40, 0x20, 0, 1)],
    ['reserved code class 7', Uint8Array.of(0x40, 0xe0, 0, 1)],
  ])('malformed: %s', (_name, data) => {
    expect(isWellFormed(data)).toBe(false);
    expect(decodeMessage(data)).toBeUndefined();
  });

  test('every truncation of a valid message is malformed or still parses without throwing', () => {
    for (let n = 0; n < ok.length; n++) expect(() => decodeMessage(ok.subarray(0, n))).not.toThrow();
    expect(decodeMessage(ok.subarray(0, 10))).toBeUndefined();
  });

  test('the empty ping is well formed', () => {
    expect(decodeMessage(Uint8Array.of(0x40, 0x00, 0xab, 0xcd))).toMatchObject({ type: 'CON', code: '0.00', messageId: 0xabcd });
  });
});

describe('option values', () => {
  test('uints use the fewest bytes, 0 is empty', () => {
    expect(encodeUint(0)).toHaveLength(0);
    expect(Array.from(encodeUint(255))).toEqual([255]);
    expect(Array.from(encodeUint(256))).toEqual([1, 0]);
    expect(Array.from(encodeUint(0xffffff))).toEqual([255, 255, 255]);
    expect(decodeUint(encodeUint(123456789))).toBe(123456789);
    expect(() => encodeUint(-1)).toThrow(RangeError);
  });

  test('Block values (RFC 7959 §2.2)', () => {
    expect(Array.from(encodeBlock({ num: 0, more: true, szx: 6 }))).toEqual([0x0e]);
    expect(Array.from(encodeBlock({ num: 0, more: false, szx: 0 }))).toEqual([]);
    expect(decodeBlock(encodeBlock({ num: 1000, more: false, szx: 2 }))).toEqual({ num: 1000, more: false, szx: 2 });
    expect(decodeBlock(encodeBlock({ num: 0xfffff, more: true, szx: 6 }))).toEqual({ num: 0xfffff, more: true, szx: 6 });
    expect(decodeBlock(Uint8Array.of(1, 2, 3, 4))).toBeUndefined();
  });
});

describe('encodeMessage / decodeMessage against coap-packet (the framing they replaced)', () => {
  // Only generate and parse are needed, with the loose shapes the comparison uses.
  const packet = coapPacket as unknown as {
    generate(p: object, max: number): Buffer;
    parse(b: Buffer): { code: string; messageId: number; token: Buffer; options: Array<{ name: string; value: Buffer }>; payload: Buffer };
  };
  const NAMES: Record<string, number> = { 'If-Match': 1, ETag: 4, Observe: 6, 'Uri-Path': 11, 'Content-Format': 12, 'Uri-Query': 15, Accept: 17, Block2: 23, Size1: 60, 'No-Response': 258, 'OCF-Accept-Content-Format-Version': 2049 };
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
  const types = ['CON', 'NON', 'ACK', 'RST'] as const;
  const codes = ['0.01', '0.02', '2.05', '4.04', '5.00', '2.31', '4.13'];

  it('writes the same bytes and reads the same message for 3000 random messages', () => {
    for (let i = 0; i < 3000; i++) {
      const options = Array.from({ length: rnd(6) }, () => ({
        number: [1, 4, 6, 11, 11, 12, 15, 17, 23, 60, 258, 270, 2049, 5000][rnd(14)]!,
        value: bytes([0, 1, 5, 12, 13, 14, 268, 269, 270, 300][rnd(10)]!),
      }));
      const msg = {
        type: types[rnd(4)]!, code: codes[rnd(codes.length)]!, messageId: rnd(65536), token: bytes(rnd(9)), options,
        payload: rnd(3) ? bytes(rnd(40)) : new Uint8Array(0),
      };
      const ours = Buffer.from(encodeMessage(msg));
      const theirs = packet.generate({
        code: msg.code, messageId: msg.messageId, token: Buffer.from(msg.token), payload: Buffer.from(msg.payload),
        options: msg.options.map((o) => ({ name: String(o.number), value: Buffer.from(o.value) })),
        confirmable: msg.type === 'CON', ack: msg.type === 'ACK', reset: msg.type === 'RST',
      }, 65507);
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
      const d = decodeMessage(ours)!;
      const p = packet.parse(theirs);
      expect({ code: d.code, messageId: d.messageId, token: [...d.token], payload: [...d.payload], options: d.options.map((o) => [o.number, [...o.value]]) })
        .toEqual({ code: p.code, messageId: p.messageId, token: [...p.token], payload: [...p.payload], options: p.options.map((o) => [NAMES[o.name] ?? Number(o.name), [...o.value]]) });
      expect(d.type).toBe(msg.type);
    }
  });

  it('refuses what coap-packet refused when encoding: a message over maxLength, a token over 65804 bytes', () => {
    const base = { type: 'CON' as const, code: '0.01', messageId: 1, token: new Uint8Array(0), options: [], payload: new Uint8Array(100) };
    expect(() => encodeMessage(base, 50)).toThrow('Max packet size is 50: current is 105');
    expect(() => encodeMessage({ ...base, token: new Uint8Array(65805) })).toThrow('Token too long');
  });
});

describe('getStringOptions', () => {
  it('reads ASCII, UTF-8 and long values as TextDecoder does', () => {
    const values = ['', '3', '0', 'rd', 'ep=x&lt=60', 'ü', 'aé', 'x'.repeat(16), 'y'.repeat(17), `${'z'.repeat(20)}€`, '\u0000\u007f'];
    const options = values.map((v) => ({ number: OptionNumber.UriPath, value: te.encode(v) }));
    options.push({ number: OptionNumber.UriPath, value: Uint8Array.of(0x61, 0xff) });
    expect(getStringOptions(options, OptionNumber.UriPath)).toEqual([...values, 'a\ufffd']);
    expect(getStringOptions(options, OptionNumber.UriQuery)).toEqual([]);
  });
});
