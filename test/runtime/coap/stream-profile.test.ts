// What RFC 8323 changes in block sizes: fitting the peer's Max-Message-Size, BERT agreed through both CSMs.
import { BERT_SZX } from '../../../runtime/coap/blocks.js';
import { bertAgreed, bodyLength, streamBlockProfile, type CsmState } from '../../../runtime/coap/stream-profile.js';

function csm(peerMax: number, peerBlockWise = true, ours = { blockWise: true, szx: 6, bert: true }): CsmState {
  return { ours, peer: () => ({ maxMessageSize: peerMax, blockWise: peerBlockWise }) };
}

test('bodyLength is an upper bound of options and payload', () => {
  expect(bodyLength([], 0)).toBe(0);
  expect(bodyLength([{ number: 11, value: Uint8Array.of(1, 2) }], 10)).toBe(7 + 11);
});

test('BERT needs block-wise on both sides and a peer Max-Message-Size above 1152', () => {
  expect(bertAgreed(csm(65536))).toBe(true);
  expect(bertAgreed(csm(1152))).toBe(false);
  expect(bertAgreed(csm(65536, false))).toBe(false);
  expect(bertAgreed(csm(65536, true, { blockWise: true, szx: 6, bert: false }))).toBe(false);
});

test('sizes follow the peer: whole when it fits, BERT blocks of whole KiB, else the largest SZX that fits', () => {
  const big = streamBlockProfile(csm(9000));
  expect(big.fits([], 8000)).toBe(true);
  expect(big.fits([], 9000)).toBe(false);
  expect(big.splitSzx([])).toBe(BERT_SZX);
  expect(big.maxSzx).toBe(BERT_SZX);
  const bytes = big.bertBytes([]);
  expect(bytes % 1024).toBe(0);
  expect(bytes).toBeGreaterThanOrEqual(7168);
  expect(bytes).toBeLessThan(9000);
  const small = streamBlockProfile(csm(1152));
  expect(small.splitSzx([])).toBe(6);
  expect(small.maxSzx).toBe(6);
  expect(streamBlockProfile(csm(600)).splitSzx([])).toBe(5);
  expect(streamBlockProfile(csm(65536, false)).splitRequests).toBe(false);
});
