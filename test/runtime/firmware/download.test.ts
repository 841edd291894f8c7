// Package URIs and fetchers: Update Result 7 or 9 for URIs that cannot work, never echoing the URI; one fetcher per protocol.
import { DownloadError, fetchCoap, fetchHttp, fetcherFor, parsePackageUri, protocolOf } from '../../../runtime/firmware/download.js';
import { FirmwareResult } from '../../../runtime/firmware/types.js';

test('a supported URI parses; its protocol is known', () => {
  const url = parsePackageUri('coaps+tcp://[::1]:5684/fw', ['coaps+tcp']);
  expect(protocolOf(url)).toBe('coaps+tcp');
  expect(protocolOf(new URL('gopher://h'))).toBeUndefined();
});

test.each([
  ['not a uri', FirmwareResult.InvalidUri],
  ['ftp://h/fw', FirmwareResult.UnsupportedProtocol],
  ['coap://h/fw', FirmwareResult.UnsupportedProtocol], // not among the supported ones below
])('%s gives Update Result %d', (text, result) => {
  let err: unknown;
  try {
    parsePackageUri(text, ['http', 'https']);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DownloadError);
  expect((err as DownloadError).result).toBe(result);
});

test('a URI without a host gives Update Result 7', () => {
  expect(() => parsePackageUri('coap:fw', ['coap'])).toThrow(expect.objectContaining({ result: FirmwareResult.InvalidUri }));
});

test('a URI that is no URI is not repeated in the error (it may hold credentials)', () => {
  expect(() => parsePackageUri('https://user:hunter2@ bad', ['https'])).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
});

test('fetchers by protocol', () => {
  expect(fetcherFor('http')).toBe(fetchHttp);
  expect(fetcherFor('https')).toBe(fetchHttp);
  expect(fetcherFor('coap')).toBe(fetchCoap);
  expect(fetcherFor('coaps+tcp')).toBe(fetchCoap);
});
