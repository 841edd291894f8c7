import { parseRange } from '../../generator/range.js';

describe('parseRange', () => {
  it('reads integer and decimal intervals in every spelling', () => {
    expect(parseRange('0..100', 'Integer').range).toEqual({ kind: 'interval', min: 0, max: 100, text: '0..100' });
    expect(parseRange('1...15', 'Integer').range).toMatchObject({ kind: 'interval', min: 1, max: 15 });
    expect(parseRange('0-100', 'Integer').range).toMatchObject({ kind: 'interval', min: 0, max: 100 });
    expect(parseRange('[1:4]', 'Integer').range).toMatchObject({ kind: 'interval', min: 1, max: 4 });
    expect(parseRange('-110..-48', 'Integer').range).toMatchObject({ min: -110, max: -48 });
    expect(parseRange('0.000001..1.0', 'Float').range).toMatchObject({ kind: 'interval', min: 0.000001, max: 1 });
  });
  it('keeps bounds beyond 2^53 exact as bigint', () => {
    expect(parseRange('0..18446744073709551615', 'Unsigned Integer').range).toMatchObject({ min: 0, max: 18446744073709551615n });
    expect(parseRange('0..9223372036854775807', 'Integer').range).toMatchObject({ max: 9223372036854775807n });
  });
  it('reads bit widths and byte widths on integers', () => {
    expect(parseRange('8-Bits', 'Unsigned Integer').range).toMatchObject({ min: 0, max: 255 });
    expect(parseRange('8-bit', 'Integer').range).toMatchObject({ min: -128, max: 255 });
    expect(parseRange('2 bytes', 'Unsigned Integer').range).toMatchObject({ min: 0, max: 65535 });
  });
  it('reads lengths on String and Opaque', () => {
    expect(parseRange('0..255 bytes', 'String').range).toEqual({ kind: 'length', min: 0, max: 255, text: '0..255 bytes' });
    expect(parseRange('1..64 Bytes', 'String').range).toMatchObject({ kind: 'length', min: 1, max: 64 });
    expect(parseRange('64', 'String').range).toMatchObject({ kind: 'length', min: 0, max: 64 });
    expect(parseRange('16,32,48', 'Opaque').range).toMatchObject({ kind: 'length', values: [16, 32, 48] });
    expect(parseRange('0 or 26 Bytes', 'String').range).toMatchObject({ kind: 'length', values: [0, 26] });
  });
  it('reads enumerations, mixed lists and labelled multi-line lists', () => {
    expect(parseRange('0,1,2', 'Integer').range).toMatchObject({ kind: 'enum', members: [{ value: 0 }, { value: 1 }, { value: 2 }] });
    expect(parseRange('0..247, 255', 'Integer').range).toMatchObject({ kind: 'enum', members: [{ value: 0, to: 247 }, { value: 255 }] });
    expect(parseRange('0; 3.8..20.5', 'Float').range).toMatchObject({ kind: 'enum', members: [{ value: 0 }, { value: 3.8, to: 20.5 }] });
    const labelled = parseRange('0: IDLE\n\t\t1: BUSY\n\t\t255', 'Integer').range;
    expect(labelled).toMatchObject({ kind: 'enum', members: [{ value: 0, label: 'IDLE' }, { value: 1, label: 'BUSY' }, { value: 255 }] });
    expect(parseRange('U, UQ, S', 'String').range).toMatchObject({ kind: 'enum', members: [{ value: 'U' }, { value: 'UQ' }, { value: 'S' }] });
  });
  it('keeps anything else as text with a warning, and flags contradictions', () => {
    const free = parseRange('The possible values are listed elsewhere', 'String');
    expect(free.range).toMatchObject({ kind: 'unparsed' });
    expect(free.problem?.rule).toBe('range-unparsed');
    expect(parseRange('2 Instances', 'Integer').problem?.rule).toBe('range-unparsed');
    expect(parseRange('0..65535', 'Boolean').problem?.rule).toBe('range-type');
    expect(parseRange('-30..-120', 'Integer').problem?.rule).toBe('range-inverted');
    expect(parseRange('0.5..2', 'Integer').problem?.rule).toBe('range-type');
    expect(parseRange('-1..5', 'Unsigned Integer').problem?.rule).toBe('range-type');
    expect(parseRange('', 'Integer')).toEqual({});
  });
});
