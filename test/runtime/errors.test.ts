// The runtime's typed errors: the path in the message, the code each maps to, all of them CoAP response errors.
import { CoapResponseError } from '../../runtime/coap/errors.js';
import {
  BadRequestError, Lwm2mError, MethodNotAllowedError, NotAcceptableError, NotFoundError, UnsupportedContentFormatError, ValueError,
} from '../../runtime/errors.js';

test.each([
  [ValueError, '4.00'], [BadRequestError, '4.00'], [NotFoundError, '4.04'], [MethodNotAllowedError, '4.05'],
  [NotAcceptableError, '4.06'], [UnsupportedContentFormatError, '4.15'],
])('%p answers %s and names its path', (Cls, code) => {
  const e = new Cls('why', { objectId: 3, instanceId: 0, resourceId: 9 });
  expect(e).toBeInstanceOf(Lwm2mError);
  expect(e).toBeInstanceOf(CoapResponseError);
  expect(e.code).toBe(code);
  expect(e.message).toBe('/3/0/9: why');
  expect(e.path).toEqual({ objectId: 3, instanceId: 0, resourceId: 9 });
  expect(e.name).toBe(Cls.name);
});

test('without a path the message is the text alone', () => {
  expect(new Lwm2mError('5.03', 'busy').message).toBe('busy');
});
