// connectCoapEndpoint: from a coap+tcp:// or coaps+tcp:// URI to a connected RFC 8323 CoapEndpoint.
import { TlsError } from './stream-errors.js';
import type { StreamCoapEndpoint, StreamEndpointOptions } from './tcp.js';
import { parseUri, type ParsedUri } from './uri.js';
import { connectTcpEndpoint, connectTlsEndpoint, type TlsSecurityOptions } from './tls.js';

export type ConnectCoapEndpointOptions = StreamEndpointOptions & TlsSecurityOptions & {
  readonly connectTimeoutMs?: number;
  readonly waitForCsm?: boolean;
};

/**
 * Connects to `coap+tcp://host[:5683]` or `coaps+tcp://host[:5684]` (TLS with PSK when pskIdentity/pskKey are
 * given, else certificates verified against `ca`). coap:// and coaps:// belong to the UDP layer and are refused here.
 */
export async function connectCoapEndpoint(uri: string, options: ConnectCoapEndpointOptions = {}): Promise<StreamCoapEndpoint> {
  let parsed: ParsedUri;
  try {
    parsed = parseUri(uri);
  } catch (err) {
    throw new TypeError((err as Error).message);
  }
  const { scheme, host } = parsed;
  if (scheme !== 'coap+tcp' && scheme !== 'coaps+tcp') {
    throw new TypeError(`unsupported scheme ${scheme}: connectCoapEndpoint takes coap+tcp:// or coaps+tcp://`);
  }
  if (host === '') throw new TypeError('the URI has no host');
  const port = parsed.port!;
  if (scheme === 'coap+tcp') {
    if (options.pskKey !== undefined || options.ca !== undefined) {
      throw new TlsError('handshake', 'security options given for an unsecured coap+tcp:// URI');
    }
    return connectTcpEndpoint({ ...options, host, port });
  }
  return connectTlsEndpoint({ ...options, host, port });
}
