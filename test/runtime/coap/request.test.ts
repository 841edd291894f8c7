// The outgoing half of the exchange core on a scripted exchange: Block1 out (following a smaller block size), Block2 followed, ETag checks.
import { BERT_SZX, fixedBlockProfile, type BlockProfile } from '../../../runtime/coap/blocks.js';
import { CoapBlockwiseError, CoapMessageError } from '../../../runtime/coap/errors.js';
import { OptionNumber, decodeBlock, encodeBlock, getOption } from '../../../runtime/coap/message.js';
import { sendRequest, type Exchange, type ResponseMessage } from '../../../runtime/coap/request.js';
import type { CoapMethod, RawOption } from '../../../runtime/coap/types.js';

const peer = { address: '10.0.0.1', port: 5683 };
const token = Uint8Array.of(1);
const block = (options: readonly RawOption[], n: number) => {
  const raw = getOption(options, n);
  return raw ? decodeBlock(raw) : undefined;
};

/** An exchange that serves `body` in Block2 of the asked size, or takes Block1 uploads, asking for `askSzx` blocks. */
function scripted(body: Uint8Array, askSzx?: number): { exchange: Exchange; sent: Array<{ code: string; options: readonly RawOption[]; payload: Uint8Array }>; received: Uint8Array[] } {
  const sent: Array<{ code: string; options: readonly RawOption[]; payload: Uint8Array }> = [];
  const received: Uint8Array[] = [];
  const exchange: Exchange = async (code, options, payload) => {
    sent.push({ code, options, payload });
    const b1 = block(options, OptionNumber.Block1);
    if (b1) {
      received.push(payload);
      const szx = askSzx ?? b1.szx;
      return b1.more
        ? { code: '2.31', token, options: [{ number: OptionNumber.Block1, value: encodeBlock({ num: b1.num, more: true, szx }) }], payload: new Uint8Array(0) }
        : { code: '2.04', token, options: [], payload: new Uint8Array(0) };
    }
    const b2 = block(options, OptionNumber.Block2) ?? { num: 0, more: false, szx: 4 };
    const size = 1 << (b2.szx + 4);
    const chunk = body.subarray(b2.num * size, (b2.num + 1) * size);
    const more = (b2.num + 1) * size < body.length;
    const res: ResponseMessage = { code: '2.05', token, options: body.length > size ? [{ number: OptionNumber.Block2, value: encodeBlock({ num: b2.num, more, szx: b2.szx }) }] : [], payload: body.length > size ? chunk : body };
    return res;
  };
  return { exchange, sent, received };
}

const body = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);

test('a large response is followed block by block with the same method and reassembled', async () => {
  const { exchange, sent } = scripted(body);
  const res = await sendRequest(peer, { method: 'GET', path: ['fw'] }, exchange, fixedBlockProfile(4), 1 << 20);
  expect(res.payload).toEqual(body);
  expect(sent.map((s) => block(s.options, OptionNumber.Block2)?.num)).toEqual([undefined, 1, 2, 3]);
  await expect(sendRequest(peer, { method: 'GET' }, exchange, fixedBlockProfile(4), 500)).rejects.toBeInstanceOf(CoapBlockwiseError);
});

test('a large request goes block by block and follows a server that asks for smaller blocks', async () => {
  const { exchange, sent, received } = scripted(body, 3);
  const res = await sendRequest(peer, { method: 'PUT', path: ['fw'], payload: body }, exchange, fixedBlockProfile(4), 1 << 20);
  expect(res.code).toBe('2.04');
  expect(Buffer.concat(received)).toEqual(Buffer.from(body));
  expect(received.map((r) => r.length)).toEqual([256, ...Array(5).fill(128), 1000 - 256 - 5 * 128]);
  expect(getOption(sent[0]!.options, OptionNumber.Size1)).toBeDefined();
  expect(getOption(sent[1]!.options, OptionNumber.Size1)).toBeUndefined();
});

test('BERT: a request larger than a message goes in BERT blocks, NUM in 1024-byte units', async () => {
  const profile: BlockProfile = { ...fixedBlockProfile(6), splitSzx: () => BERT_SZX, bertBytes: () => 4096, maxSzx: BERT_SZX };
  const { exchange, sent } = scripted(new Uint8Array(0));
  await sendRequest(peer, { method: 'PUT', payload: new Uint8Array(10_000) }, exchange, profile, 1 << 20);
  expect(sent.map((s) => [block(s.options, OptionNumber.Block1)!.num, s.payload.length])).toEqual([[0, 4096], [4, 4096], [8, 10_000 - 8192]]);
});

test('a changed ETag fails the transfer; an unknown method is refused', async () => {
  let n = 0;
  const exchange: Exchange = async (_c, options) => {
    const b2 = block(options, OptionNumber.Block2) ?? { num: 0, szx: 4 };
    n++;
    return { code: '2.05', token, options: [{ number: OptionNumber.ETag, value: Uint8Array.of(n) }, { number: OptionNumber.Block2, value: encodeBlock({ num: b2.num, more: true, szx: 4 }) }], payload: new Uint8Array(256) };
  };
  await expect(sendRequest(peer, { method: 'GET' }, exchange, fixedBlockProfile(4), 1 << 20)).rejects.toThrow(/ETag/);
  await expect(sendRequest(peer, { method: 'BREW' as CoapMethod }, exchange, fixedBlockProfile(4), 1 << 20)).rejects.toBeInstanceOf(CoapMessageError);
});
