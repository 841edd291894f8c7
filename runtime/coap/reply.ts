// A response as the exchange core builds it for any transport: the Reply shape, diagnostics, a handler's response and errors mapped to it.
import { CoapResponseError } from './errors.js';
import { OptionNumber as O, encodeUint, stringOptions } from './message.js';
import type { OutgoingResponse, RawOption } from './types.js';

/** A response as it goes on the wire, before the transport adds message type, id, token or framing. */
export interface Reply {
  readonly code: string;
  readonly options: readonly RawOption[];
  readonly payload: Uint8Array;
}

export const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** A response with a diagnostic payload (RFC 7252 §5.5.2). */
export function diagnostic(code: string, text: string): Reply {
  return { code, options: [], payload: utf8.encode(text) };
}

/** 5.00 with no payload: what an unexpected failure answers, with no detail that could leak. */
export const INTERNAL_ERROR: Reply = { code: '5.00', options: [], payload: EMPTY };

/**
 * What a thrown error answers: a CoapResponseError (Lwm2mError among them) its own code with its message,
 * anything else 5.00 after `report` has seen it.
 */
export function errorReply(err: unknown, report: (error: unknown) => void): Reply {
  if (err instanceof CoapResponseError) return diagnostic(err.code, err.message);
  report(err);
  return INTERNAL_ERROR;
}

/** Wire form of a handler's response (without Block options). */
export function replyOf(response: OutgoingResponse): Reply {
  const options: RawOption[] = [...(response.options ?? [])];
  if (response.contentFormat !== undefined) options.push({ number: O.ContentFormat, value: encodeUint(response.contentFormat) });
  if (response.observe !== undefined) options.push({ number: O.Observe, value: encodeUint(response.observe & 0xffffff) });
  if (response.locationPath) options.push(...stringOptions(O.LocationPath, response.locationPath));
  return { code: response.code, options, payload: response.payload ?? EMPTY };
}
