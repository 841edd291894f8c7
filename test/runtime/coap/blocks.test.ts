// Block sizes for the exchange core: units of NUM, BERT blocks, the size a non-last block must have, the fixed UDP profile.
import { BERT_SZX, blockBytes, fixedBlockProfile, fullBlock, unitOf } from '../../../runtime/coap/blocks.js';

test('a NUM unit is the block size; 1024 for BERT', () => {
  expect(unitOf(0)).toBe(16);
  expect(unitOf(6)).toBe(1024);
  expect(unitOf(BERT_SZX)).toBe(1024);
});

test('a block that is not the last is exactly the block size; a BERT one a positive multiple of 1024', () => {
  expect(fullBlock(2, 64)).toBe(true);
  expect(fullBlock(2, 63)).toBe(false);
  expect(fullBlock(BERT_SZX, 3072)).toBe(true);
  expect(fullBlock(BERT_SZX, 0)).toBe(false);
  expect(fullBlock(BERT_SZX, 1500)).toBe(false);
});

test('the fixed profile: whole up to one block, split at it, never BERT', () => {
  const p = fixedBlockProfile(4);
  expect(p.fits([], 256)).toBe(true);
  expect(p.fits([], 257)).toBe(false);
  expect(p.splitSzx([])).toBe(4);
  expect(p.maxSzx).toBe(4);
  expect(p.splitRequests).toBe(true);
  expect(blockBytes(p, 4, [])).toBe(256);
  expect(blockBytes(p, 2, [])).toBe(64);
});
