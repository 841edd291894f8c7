// ByteWriter.utf8 and CborWriter.text on both their paths (short ASCII copied by hand, the rest through TextEncoder).
import cbor from 'cbor';
import { CborWriter } from '../../../runtime/codec/cbor.js';
import { ByteWriter } from '../../../runtime/codec/writer.js';

const strings: string[] = [];
for (const n of [0, 1, 23, 24, 25, 63, 64, 65, 255, 256, 300]) {
  strings.push('a'.repeat(n), `${'b'.repeat(Math.max(0, n - 1))}é`, `€${'c'.repeat(n)}`, `${'d'.repeat(n)}\u007f`);
}

describe('ByteWriter.utf8', () => {
  it.each(strings.map((s) => [s.length, s] as const))('writes a string of %i code units as TextEncoder does', (_n, s) => {
    const w = new ByteWriter(4);
    w.u8(0x55);
    const n = w.utf8(s);
    const expected = new TextEncoder().encode(s);
    expect(n).toBe(expected.length);
    expect(Buffer.from(w.result())).toEqual(Buffer.concat([Buffer.of(0x55), Buffer.from(expected)]));
  });
});

describe('CborWriter.text', () => {
  it.each(strings.map((s) => [s.length, s] as const))('writes a text string of %i code units in preferred form', (_n, s) => {
    const w = new CborWriter(2);
    w.text(s);
    w.int(7);
    const bytes = Buffer.from(w.result());
    expect(cbor.decodeAllSync(bytes)).toEqual([s, 7]);
    // The head takes its shortest form: the same bytes as cbor's canonical encoder.
    expect(bytes.subarray(0, bytes.length - 1)).toEqual(cbor.encodeCanonical(s));
  });
});
