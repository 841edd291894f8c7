// Ranges as sets of values: what counts as the same range, a widening, a narrowing or a change.
import { compareRanges } from '../../generator/range-set.js';
import { parseRange } from '../../generator/range.js';
import type { ResourceModel } from '../../runtime/model.js';

function res(type: ResourceModel['type'], text: string, operations: ResourceModel['operations'] = 'R'): ResourceModel {
  const r = { id: 1, name: 'X', operations, type, multiple: false, mandatory: false };
  if (text === '') return r;
  const range = parseRange(text, type).range;
  return range ? { ...r, range } : r;
}

describe('compareRanges', () => {
  test.each([
    ['Integer', '0..8', '0-8', 'same'],
    ['Integer', '0..8', '0..32', 'widened'],
    ['Integer', '0..32', '0..8', 'narrowed'],
    ['Integer', '0..8', '4..16', 'changed'],
    ['Integer', '0..8', '', 'widened'],
    ['Integer', '', '0..8', 'narrowed'],
    ['Integer', '0,1,2,3', '0..3', 'same'],
    ['Integer', '0..3, 5', '0..5', 'widened'],
    ['Unsigned Integer', '', '0..18446744073709551615', 'same'],
    ['Float', '-90.0..90.0', '-180.0..180.0', 'widened'],
    ['String', '0..255 bytes', '0..64 bytes', 'narrowed'],
    ['Opaque', '16,32', '16,32,64', 'widened'],
  ] as const)('%s %s → %s is %s', (type, a, b, expected) => {
    expect(compareRanges(res(type, a), res(type, b))).toBe(expected);
  });
});

