// Replies as the core builds them: a handler's response in wire form, diagnostics, thrown errors mapped to codes.
import { CoapResponseError } from '../../../runtime/coap/errors.js';
import { OptionNumber, decodeUint } from '../../../runtime/coap/message.js';
import { diagnostic, errorReply, replyOf } from '../../../runtime/coap/reply.js';
import { NotFoundError } from '../../../runtime/errors.js';

const td = new TextDecoder();

test('a CoapResponseError (an Lwm2mError among them) answers its code and message; anything else 5.00, reported', () => {
  const reported: unknown[] = [];
  const report = (e: unknown) => reported.push(e);
  const own = errorReply(new CoapResponseError('4.29', 'slow down'), report);
  expect([own.code, td.decode(own.payload)]).toEqual(['4.29', 'slow down']);
  const lwm2m = errorReply(new NotFoundError('gone', { objectId: 3, instanceId: 1 }), report);
  expect([lwm2m.code, td.decode(lwm2m.payload)]).toEqual(['4.04', '/3/1: gone']);
  const boom = new Error('secret detail');
  const internal = errorReply(boom, report);
  expect(internal).toEqual({ code: '5.00', options: [], payload: new Uint8Array(0) });
  expect(reported).toEqual([boom]);
});

test('replyOf puts Content-Format, Observe (24 bits) and Location-Path in options', () => {
  const r = replyOf({ code: '2.01', contentFormat: 40, observe: 0x1000002, locationPath: ['rd', 'x'], payload: Uint8Array.of(1) });
  expect(r.code).toBe('2.01');
  expect(r.options.map((o) => o.number)).toEqual([OptionNumber.ContentFormat, OptionNumber.Observe, OptionNumber.LocationPath, OptionNumber.LocationPath]);
  expect(decodeUint(r.options[1]!.value)).toBe(2);
  expect(replyOf({ code: '2.04' }).payload.length).toBe(0);
  expect(td.decode(diagnostic('4.00', 'bad').payload)).toBe('bad');
});
