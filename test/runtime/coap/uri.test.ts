// The one URI parser: scheme, bare IPv6 host, default ports per scheme, path and query segments; no echo of a bad URI.
import { UriError, parseUri } from '../../../runtime/coap/uri.js';

test.each([
  ['coap://127.0.0.1', 'coap', '127.0.0.1', 5683],
  ['coaps://h.example', 'coaps', 'h.example', 5684],
  ['coap+tcp://[::1]:9000', 'coap+tcp', '::1', 9000],
  ['coaps+tcp://[fe80::1]', 'coaps+tcp', 'fe80::1', 5684],
  ['http://files.example/fw.bin', 'http', 'files.example', 80],
  ['https://files.example:8443/fw.bin', 'https', 'files.example', 8443],
])('%s', (text, scheme, host, port) => {
  expect(parseUri(text)).toMatchObject({ scheme, host, port });
});

test('path and query are percent-decoded segments; an unknown scheme has no default port; no host is an empty host', () => {
  expect(parseUri('coap://h/5/0/a%20b?x=1&y=%2F')).toMatchObject({ path: ['5', '0', 'a b'], query: ['x=1', 'y=/'] });
  expect(parseUri('gopher://h').port).toBeUndefined();
  expect(parseUri('mailto:someone@example.com').host).toBe('');
});

test('a text that is no URI throws UriError without repeating it', () => {
  let err: unknown;
  try {
    parseUri('not a uri with password hunter2');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UriError);
  expect((err as Error).message).not.toContain('hunter2');
});
