// Socket and TLS failures mapped to TlsError kinds with fixed messages that carry no secrets.
import { TlsError, TransportError, errorCode, tlsErrorFrom } from '../../../runtime/coap/stream-errors.js';

const err = (code?: string) => Object.assign(new Error('raw detail with psk=00112233'), code ? { code } : {});

test.each([
  ['ECONNREFUSED', false, 'refused'], ['ETIMEDOUT', false, 'timeout'], ['CERT_HAS_EXPIRED', false, 'certificate'],
  ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', false, 'handshake'], ['ERR_SSL_DECRYPTION_FAILED', true, 'alert'],
  ['ECONNRESET', false, 'handshake'], ['ECONNRESET', true, 'network'],
])('%s (handshake done: %p) is %s', (code, done, failure) => {
  const e = tlsErrorFrom(err(code), 'tls h:1', done);
  expect(e).toBeInstanceOf(TlsError);
  expect(e).toBeInstanceOf(TransportError);
  expect(e.failure).toBe(failure);
  expect(e.message).not.toContain('psk');
});

test('errorCode reads a string code only', () => {
  expect(errorCode(err('EPIPE'))).toBe('EPIPE');
  expect(errorCode({ code: 5 })).toBeUndefined();
  expect(errorCode(undefined)).toBeUndefined();
});
