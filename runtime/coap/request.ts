// The outgoing half of the exchange core, for every transport: a request mapped to messages (Block1 out, Block2 followed) and its response back.
import { blockBytes, unitOf, type BlockProfile } from './blocks.js';
import { bytesEqual } from './bytes.js';
import { codeClass, codeOfMethod } from './codes.js';
import { CoapBlockwiseError, CoapMessageError } from './errors.js';
import {
  OptionNumber as O, decodeBlock, encodeBlock, encodeUint, getOption, getStringOptions, getUintOption, stringOptions,
  type BlockOption,
} from './message.js';
import { EMPTY } from './reply.js';
import { INTERPRETED } from './serve.js';
import type { IncomingResponse, OutgoingRequest, Peer, RawOption, ResponseCode } from './types.js';

/** A response message as any transport hands it back. */
export interface ResponseMessage {
  readonly code: string;
  readonly token: Uint8Array;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

/** One request message out, its response back; the transport does reliability and token matching. `token` asks to reuse one. */
export type Exchange = (code: string, options: readonly RawOption[], payload: Uint8Array, token?: Uint8Array) => Promise<ResponseMessage>;

/** Sends a request through `exchange` and resolves with its reassembled response. */
export async function sendRequest(
  peer: Peer,
  request: OutgoingRequest,
  exchange: Exchange,
  profile: BlockProfile,
  maxBodySize: number,
): Promise<IncomingResponse> {
  const code = codeOfMethod(request.method);
  if (code === undefined) throw new CoapMessageError(`unknown method ${String(request.method)}`, peer);
  const base: RawOption[] = [
    ...stringOptions(O.UriPath, request.path ?? []),
    ...stringOptions(O.UriQuery, request.query ?? []),
    ...(request.contentFormat !== undefined ? [{ number: O.ContentFormat, value: encodeUint(request.contentFormat) }] : []),
    ...(request.accept !== undefined ? [{ number: O.Accept, value: encodeUint(request.accept) }] : []),
    ...(request.options ?? []),
  ];
  const withObserve = request.observe !== undefined ? [...base, { number: O.Observe, value: encodeUint(request.observe) }] : base;
  const payload = request.payload ?? EMPTY;

  const response = !profile.fits(withObserve, payload.length) && profile.splitRequests
    ? await sendBlock1(code, withObserve, payload, exchange, profile)
    : await exchange(code, withObserve, payload);

  let body = response.payload;
  const b2raw = getOption(response.options, O.Block2);
  const b2 = b2raw ? decodeBlock(b2raw) : undefined;
  // A caller that sets Block2 itself asked for one particular block and gets just that.
  const callerBlock2 = (request.options ?? []).some((o) => o.number === O.Block2);
  if (b2 && b2.more && codeClass(response.code) === 2 && !callerBlock2) {
    body = await fetchBlock2(peer, code, base, request.method === 'FETCH' ? payload : EMPTY, response, b2, exchange, profile, maxBodySize);
  }
  return incomingResponse(peer, response, body, callerBlock2);
}

/** Sends a large request body block by block, following the server's block size if it asks for smaller blocks. */
async function sendBlock1(
  code: string, options: readonly RawOption[], payload: Uint8Array, exchange: Exchange, profile: BlockProfile,
): Promise<ResponseMessage> {
  let szx = profile.splitSzx(options);
  let offset = 0;
  // One token for the whole transfer: RFC 7959 allows either, and servers that key Block1 by token (node-coap) need it.
  let token: Uint8Array | undefined;
  for (;;) {
    const num = offset / unitOf(szx);
    const chunk = payload.subarray(offset, offset + blockBytes(profile, szx, options));
    const more = offset + chunk.length < payload.length;
    const blockOptions: RawOption[] = [{ number: O.Block1, value: encodeBlock({ num, more, szx }) }];
    if (num === 0) blockOptions.push({ number: O.Size1, value: encodeUint(payload.length) });
    const response = await exchange(code, [...options, ...blockOptions], chunk, token);
    token = response.token;
    if (!more || response.code !== '2.31') return response;
    const ack = getOption(response.options, O.Block1);
    const b1 = ack ? decodeBlock(ack) : undefined;
    offset += chunk.length;
    if (b1 && b1.szx < szx && b1.szx <= profile.maxSzx) szx = b1.szx;
  }
}

/** Fetches the remaining blocks of a Block2 response; later blocks never carry Observe (RFC 7959 §2.6 / RFC 7641). */
async function fetchBlock2(
  peer: Peer,
  code: string,
  base: readonly RawOption[],
  payload: Uint8Array,
  first: ResponseMessage,
  firstBlock: BlockOption,
  exchange: Exchange,
  profile: BlockProfile,
  maxBodySize: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [first.payload];
  let total = first.payload.length;
  let block = firstBlock;
  const etag = getOption(first.options, O.ETag);
  if (block.num !== 0) throw new CoapBlockwiseError(`first Block2 response is block ${block.num}, not 0`, peer);
  while (block.more) {
    const szx = block.szx;
    const unit = unitOf(szx);
    if (total % unit !== 0) throw new CoapBlockwiseError('Block2 block of unexpected size', peer);
    const num = total / unit;
    const response = await exchange(code, [...base, { number: O.Block2, value: encodeBlock({ num, more: false, szx }) }], payload, first.token);
    if (codeClass(response.code) !== 2) throw new CoapBlockwiseError(`block ${num} answered ${response.code}`, peer);
    const raw = getOption(response.options, O.Block2);
    const got = raw ? decodeBlock(raw) : undefined;
    if (!got || got.szx > Math.max(profile.maxSzx, 6) || got.num * unitOf(got.szx) !== total) {
      throw new CoapBlockwiseError(`asked for block ${num}, got ${got ? got.num : 'no Block2'}`, peer);
    }
    const tag = getOption(response.options, O.ETag);
    if (etag && (!tag || !bytesEqual(tag, etag))) throw new CoapBlockwiseError('representation changed during Block2 transfer (ETag)', peer);
    total += response.payload.length;
    if (total > maxBodySize) throw new CoapBlockwiseError(`Block2 body exceeds ${maxBodySize} bytes`, peer);
    parts.push(response.payload);
    block = got;
  }
  return Buffer.concat(parts);
}

/** `keepBlock2`: a caller that asked for one block itself needs the Block2 and Size2 of the answer to go on. */
function incomingResponse(peer: Peer, m: ResponseMessage, body: Uint8Array, keepBlock2: boolean): IncomingResponse {
  const contentFormat = getUintOption(m.options, O.ContentFormat);
  const observe = getUintOption(m.options, O.Observe);
  return {
    peer,
    code: m.code as ResponseCode,
    token: m.token,
    ...(contentFormat !== undefined ? { contentFormat } : {}),
    ...(observe !== undefined ? { observe } : {}),
    locationPath: getStringOptions(m.options, O.LocationPath),
    payload: body,
    options: m.options.filter((o) => !INTERPRETED.has(o.number) || (keepBlock2 && (o.number === O.Block2 || o.number === O.Size2))),
  };
}
