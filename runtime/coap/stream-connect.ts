// connectCoapEndpoint: from a coap+tcp:// or coaps+tcp:// URI to a connected RFC 8323 CoapEndpoint.
import { TlsError } from './stream-errors.js';
import type { StreamCoapEndpoint, StreamEndpointOptions } from './tcp.js';
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
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError('not a valid URI');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'coap+tcp' && scheme !== 'coaps+tcp') {
    throw new TypeError(`unsupported scheme ${scheme}: connectCoapEndpoint takes coap+tcp:// or coaps+tcp://`);
  }
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new TypeError('the URI has no host');
  const port = url.port === '' ? (scheme === 'coap+tcp' ? 5683 : 5684) : Number(url.port);
  if (scheme === 'coap+tcp') {
    if (options.pskKey !== undefined || options.ca !== undefined) {
      throw new TlsError('handshake', 'security options given for an unsecured coap+tcp:// URI');
    }
    return connectTcpEndpoint({ ...options, host, port });
  }
  return connectTlsEndpoint({ ...options, host, port });
}
