// The message layer's errors: the peer in the message, the subclasses callers tell apart, the neutral response error.
import { CoapBlockwiseError, CoapError, CoapResponseError, CoapTimeoutError } from '../../../runtime/coap/errors.js';
import { Lwm2mError } from '../../../runtime/errors.js';

test('exchange errors name their peer and class', () => {
  const e = new CoapTimeoutError('no ACK', { address: '10.0.0.1', port: 5683 }, 5);
  expect(e).toBeInstanceOf(CoapError);
  expect(e.name).toBe('CoapTimeoutError');
  expect(e.message).toBe('no ACK (10.0.0.1:5683)');
  expect(e.transmissions).toBe(5);
  expect(new CoapBlockwiseError('x').message).toBe('x');
});

test('CoapResponseError carries the code a handler answers; Lwm2mError is one', () => {
  const e = new CoapResponseError('4.29', 'too many');
  expect([e.code, e.message, e.name]).toEqual(['4.29', 'too many', 'CoapResponseError']);
  const l = new Lwm2mError('4.04', 'gone', { objectId: 3 });
  expect(l).toBeInstanceOf(CoapResponseError);
  expect([l.code, l.message, l.name]).toEqual(['4.04', '/3: gone', 'Lwm2mError']);
});
