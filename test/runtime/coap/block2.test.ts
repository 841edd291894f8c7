// Outgoing Block2 on its own: the first block caches the representation, later blocks come from the cache, large notifications.
import { Block2Server, makeRoom } from '../../../runtime/coap/block2.js';
import { BERT_SZX, fixedBlockProfile, type BlockProfile } from '../../../runtime/coap/blocks.js';
import { ManualClock } from '../../../runtime/coap/clock.js';
import { OptionNumber, decodeBlock, decodeUint, encodeUint, getOption } from '../../../runtime/coap/message.js';
import type { Reply } from '../../../runtime/coap/reply.js';

const body = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
const reply: Reply = { code: '2.05', options: [{ number: OptionNumber.Observe, value: encodeUint(3) }], payload: body };
const block2 = (r: Reply) => decodeBlock(getOption(r.options, OptionNumber.Block2)!);

function setup(profile: BlockProfile = fixedBlockProfile(4)) {
  const clock = new ManualClock();
  return { clock, b2: new Block2Server({ clock, profile, maxEntries: 2, lifetime: 1000 }) };
}

test('first() answers block 0 with Size2 and Observe; cached() serves later blocks without Observe until they expire', () => {
  const { b2, clock } = setup();
  const first = b2.first('k', reply, 4);
  expect(block2(first)).toEqual({ num: 0, more: true, szx: 4 });
  expect(decodeUint(getOption(first.options, OptionNumber.Size2)!)).toBe(600);
  expect(getOption(first.options, OptionNumber.Observe)).toBeDefined();
  const second = b2.cached('k', 2, 4, [])!;
  expect(block2(second)).toEqual({ num: 2, more: false, szx: 4 });
  expect(second.payload).toEqual(body.subarray(512));
  expect(getOption(second.options, OptionNumber.Observe)).toBeUndefined();
  expect(b2.cached('k', 3, 4, [])).toMatchObject({ code: '4.02' });
  clock.advance(1001);
  expect(b2.cached('k', 1, 4, [])).toBeUndefined();
});

test('BERT slices: NUM in 1024-byte units, several KiB per block', () => {
  const bert: BlockProfile = { ...fixedBlockProfile(6), bertBytes: () => 2048, maxSzx: BERT_SZX };
  const { b2 } = setup(bert);
  const big: Reply = { code: '2.05', options: [], payload: new Uint8Array(5000) };
  const first = b2.first('k', big, BERT_SZX);
  expect(first.payload.length).toBe(2048);
  const next = b2.cached('k', 2, BERT_SZX, [])!;
  expect(block2(next)).toEqual({ num: 2, more: true, szx: BERT_SZX });
  expect(b2.cached('k', 4, BERT_SZX, [])!.payload.length).toBe(5000 - 4096);
});

test('a large notification goes as its first block only when the observation is known', () => {
  const { b2 } = setup();
  expect(b2.notification('peer|01', reply)).toBe(reply);
  b2.observe('peer|01', 'get-key');
  const n = b2.notification('peer|01', reply);
  expect(block2(n)).toEqual({ num: 0, more: true, szx: 4 });
  expect(b2.cached('get-key', 1, 4, [])).toBeDefined();
});

test('makeRoom drops expired entries and then the oldest', () => {
  const m = new Map<string, { expires: number }>([['a', { expires: 5 }], ['b', { expires: 50 }], ['c', { expires: 60 }]]);
  makeRoom(m, 3, 10);
  expect([...m.keys()]).toEqual(['b', 'c']);
  makeRoom(m, 2, 10);
  expect([...m.keys()]).toEqual(['c']);
});
