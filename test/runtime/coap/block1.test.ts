// Incoming Block1 on its own: reassembly keyed by request, its limits, BERT blocks, and streaming to a sink.
import { Block1Receiver, type Block1Request } from '../../../runtime/coap/block1.js';
import { BERT_SZX, fixedBlockProfile, type BlockProfile } from '../../../runtime/coap/blocks.js';
import { ManualClock } from '../../../runtime/coap/clock.js';
import { OptionNumber, decodeBlock, encodeUint, getOption } from '../../../runtime/coap/message.js';
import type { Reply } from '../../../runtime/coap/reply.js';
import type { Block1Sink } from '../../../runtime/coap/types.js';
import { Lwm2mError } from '../../../runtime/errors.js';

const peer = { address: '10.0.0.2', port: 5683 };
const bertProfile: BlockProfile = { ...fixedBlockProfile(6), maxSzx: BERT_SZX };

function setup(profile: BlockProfile = fixedBlockProfile(6), maxBodySize = 10_000) {
  const clock = new ManualClock();
  const reported: unknown[] = [];
  const rx = new Block1Receiver({ clock, profile, maxBodySize, maxTransfers: 2, transferTimeout: 1000, reportError: (e) => reported.push(e) });
  return { clock, rx, reported };
}
function req(num: number, more: boolean, szx: number, payload: Uint8Array, over: Partial<Block1Request> = {}): Block1Request {
  return { peer, method: 'PUT', path: ['5', '0', '0'], query: [], contentFormat: 42, block: { num, more, szx }, options: [], payload, ...over };
}
const bytes = (n: number, v = 1) => new Uint8Array(n).fill(v);

describe('reassemble', () => {
  test('blocks in order make the body; each but the last answers 2.31 in our block size', () => {
    const { rx } = setup(fixedBlockProfile(4));
    const first = rx.reassemble(req(0, true, 5, bytes(512, 1)));
    expect('code' in first && first.code).toBe('2.31');
    // The sender used 512-byte blocks; we take 256 at most and say so.
    expect(decodeBlock(getOption((first as Reply).options, OptionNumber.Block1)!)).toEqual({ num: 0, more: true, szx: 4 });
    const done = rx.reassemble(req(1, false, 5, bytes(10, 2)));
    expect('body' in done && done.body).toEqual(Uint8Array.from([...bytes(512, 1), ...bytes(10, 2)]));
  });

  test('a gap answers 4.08, a wrong block size 4.00, Size1 over the limit 4.13 with Size1, too many transfers 5.03', () => {
    const { rx } = setup(fixedBlockProfile(6), 2000);
    expect(rx.reassemble(req(1, true, 6, bytes(1024)))).toMatchObject({ code: '4.08' });
    expect(rx.reassemble(req(0, true, 6, bytes(1000)))).toMatchObject({ code: '4.00' });
    const big = rx.reassemble(req(0, true, 6, bytes(1024), { options: [{ number: OptionNumber.Size1, value: encodeUint(5000) }] }));
    expect(big).toMatchObject({ code: '4.13' });
    expect(getOption((big as Reply).options, OptionNumber.Size1)).toEqual(encodeUint(2000));
    rx.reassemble(req(0, true, 6, bytes(1024), { path: ['a'] }));
    rx.reassemble(req(0, true, 6, bytes(1024), { path: ['b'] }));
    expect(rx.reassemble(req(0, true, 6, bytes(1024), { path: ['c'] }))).toMatchObject({ code: '5.03' });
  });

  test('an abandoned transfer expires after the transfer timeout', () => {
    const { rx, clock } = setup();
    rx.reassemble(req(0, true, 6, bytes(1024)));
    clock.advance(1001);
    expect(rx.reassemble(req(1, false, 6, bytes(5)))).toMatchObject({ code: '4.08' });
  });

  test('BERT: NUM counts 1024-byte units and a block holds several; refused sizes are not multiples of 1024', () => {
    const { rx } = setup(bertProfile);
    expect(rx.reassemble(req(0, true, BERT_SZX, bytes(3072, 1)))).toMatchObject({ code: '2.31' });
    const done = rx.reassemble(req(3, false, BERT_SZX, bytes(100, 2)));
    expect('body' in done && done.body.length).toBe(3172);
    expect(rx.reassemble(req(0, true, BERT_SZX, bytes(1500)))).toMatchObject({ code: '4.00' });
  });
});

describe('stream', () => {
  test('a selected upload goes block by block to the sink and reports its length', async () => {
    const { rx } = setup();
    const writes: Array<[number, number, boolean]> = [];
    const sink: Block1Sink = { write: (o, b, m) => { writes.push([o, b.length, m]); } };
    rx.select(() => sink);
    expect(rx.streaming).toBe(true);
    expect(await rx.stream(req(0, true, 6, bytes(1024)))).toMatchObject({ code: '2.31' });
    expect(await rx.stream(req(1, false, 6, bytes(7)))).toEqual({ length: 1031 });
    expect(writes).toEqual([[0, 1024, true], [1024, 7, false]]);
  });

  test('declined or one-block uploads take the usual path; a sink that throws an Lwm2mError answers its code', async () => {
    const { rx, reported } = setup();
    rx.select((start) => (start.path[0] === '5' ? { write: () => { throw new Lwm2mError('4.13', 'too large'); } } : undefined));
    expect(await rx.stream(req(0, true, 6, bytes(1024), { path: ['3'] }))).toBeUndefined();
    expect(await rx.stream(req(0, false, 6, bytes(10)))).toBeUndefined();
    expect(await rx.stream(req(0, true, 6, bytes(1024)))).toMatchObject({ code: '4.13' });
    expect(reported).toEqual([]);
  });

  test('a new block 0 aborts the transfer in progress; clear() aborts what is left', async () => {
    const { rx } = setup();
    let aborts = 0;
    rx.select(() => ({ write: () => undefined, abort: () => { aborts++; } }));
    await rx.stream(req(0, true, 6, bytes(1024)));
    await rx.stream(req(0, true, 6, bytes(1024)));
    expect(aborts).toBe(1);
    rx.clear();
    expect(aborts).toBe(2);
  });
});
