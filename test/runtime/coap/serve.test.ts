// The incoming half of the exchange core without a transport: request mapping, refusals, handler errors, Block2 decisions.
import { fixedBlockProfile } from '../../../runtime/coap/blocks.js';
import { ManualClock } from '../../../runtime/coap/clock.js';
import { CoapMessageError, CoapResponseError } from '../../../runtime/coap/errors.js';
import { OptionNumber, decodeBlock, encodeBlock, encodeUint, getOption, stringOptions } from '../../../runtime/coap/message.js';
import { RequestServer, type RequestMessage } from '../../../runtime/coap/serve.js';
import type { IncomingRequest, RawOption, ResponseCode } from '../../../runtime/coap/types.js';

const peer = { address: '10.0.0.2', port: 5683 };
const td = new TextDecoder();

function setup(knownOptions?: number[]) {
  const reported: unknown[] = [];
  const server = new RequestServer({
    clock: new ManualClock(), profile: fixedBlockProfile(4), maxBodySize: 4096, maxBlock1Transfers: 4, blockTransferTimeout: 1000,
    maxBlock2Entries: 4, block2Lifetime: 1000, reportError: (e) => reported.push(e), ...(knownOptions ? { knownOptions } : {}),
  });
  return { server, reported };
}
const msg = (code: string, options: RawOption[] = [], payload = new Uint8Array(0)): RequestMessage => ({ code, token: Uint8Array.of(7), options, payload });

test('a request reaches the handler with its fields; uninterpreted options pass through', async () => {
  const { server } = setup();
  let seen: IncomingRequest | undefined;
  server.serve((r) => {
    seen = r;
    return { code: '2.05', contentFormat: 0, payload: Uint8Array.of(0x61) };
  });
  const reply = await server.process(msg('0.01', [
    ...stringOptions(OptionNumber.UriPath, ['3', '0']), ...stringOptions(OptionNumber.UriQuery, ['a=1']),
    { number: OptionNumber.Accept, value: encodeUint(11542) }, { number: 65000, value: Uint8Array.of(1) },
  ]), peer, false);
  expect(reply.code).toBe('2.05');
  expect(seen).toMatchObject({ method: 'GET', path: ['3', '0'], query: ['a=1'], accept: 11542, confirmable: false, options: [{ number: 65000 }] });
});

test('refusals before the handler: 4.05 unknown method, 4.02 unknown critical option, 4.00 bad Block, 4.04 no handler', async () => {
  const { server } = setup([9]);
  expect((await server.process(msg('0.09'), peer, true)).code).toBe('4.05');
  expect((await server.process(msg('0.01', [{ number: 2049, value: new Uint8Array(0) }]), peer, true)).code).toBe('4.02');
  expect((await server.process(msg('0.01', [{ number: OptionNumber.Block2, value: Uint8Array.of(0, 0, 0, 1) }]), peer, true)).code).toBe('4.00');
  // BERT (SZX 7) is not taken on a profile that did not agree to it.
  expect((await server.process(msg('0.01', [{ number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: false, szx: 7 }) }]), peer, true)).code).toBe('4.00');
  expect((await server.process(msg('0.01', [{ number: 9, value: new Uint8Array(0) }]), peer, true)).code).toBe('4.04');
});

test("a handler's CoapResponseError answers its code; other errors and invalid codes 5.00, reported", async () => {
  const { server, reported } = setup();
  let next: () => never = () => { throw new CoapResponseError('4.03', 'not yours'); };
  server.serve(() => next());
  const refused = await server.process(msg('0.01'), peer, true);
  expect([refused.code, td.decode(refused.payload)]).toEqual(['4.03', 'not yours']);
  next = () => { throw new Error('boom'); };
  expect((await server.process(msg('0.01'), peer, true)).code).toBe('5.00');
  server.serve(() => ({ code: '9.99' as ResponseCode }));
  expect((await server.process(msg('0.01'), peer, true)).code).toBe('5.00');
  expect(reported).toHaveLength(2);
  expect(reported[1]).toBeInstanceOf(CoapMessageError);
});

test('a large response goes block-wise and later blocks come from the cache without running the handler again', async () => {
  const { server } = setup();
  let calls = 0;
  server.serve(() => (calls++, { code: '2.05', payload: new Uint8Array(600).fill(3) }));
  const first = await server.process(msg('0.01'), peer, true);
  expect(decodeBlock(getOption(first.options, OptionNumber.Block2)!)).toEqual({ num: 0, more: true, szx: 4 });
  const third = await server.process(msg('0.01', [{ number: OptionNumber.Block2, value: encodeBlock({ num: 2, more: false, szx: 4 }) }]), peer, true);
  expect(third.payload.length).toBe(600 - 512);
  expect(calls).toBe(1);
  // Without a cached body an unsafe method cannot be run again for a later block.
  const post = await server.process(msg('0.02', [{ number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 4 }) }]), peer, true);
  expect(post.code).toBe('4.08');
});

test('a body over maxBodySize in one message answers 4.13', async () => {
  const { server } = setup();
  server.serve(() => ({ code: '2.04' }));
  expect((await server.process(msg('0.03', [], new Uint8Array(5000)), peer, true)).code).toBe('4.13');
});
