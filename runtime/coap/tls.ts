// Opening TCP and TLS connections (PSK or certificates) for RFC 8323 endpoints and the length-prefixed framing.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { TlsError, tlsErrorFrom } from './stream-errors.js';
import { StreamCoapEndpoint, type StreamEndpointOptions } from './tcp.js';

export interface StreamConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Time allowed for the TCP connect plus the TLS handshake. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
}

export interface TlsSecurityOptions {
  /** PSK identity (TLS_PSK); with pskKey, selects PSK cipher suites instead of certificates. */
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
  /** Trusted CA certificates (PEM) for certificate mode; Node's default roots when absent. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate and key (PEM) for mutual authentication. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Name to verify the server certificate against and to send as SNI; the host by default. */
  readonly servername?: string;
  /** Certificate verification is on unless this is explicitly false. */
  readonly rejectUnauthorized?: boolean;
  /** OpenSSL cipher list; PSK mode defaults to the CoAP/LwM2M suites (CCM_8 first). */
  readonly ciphers?: string;
  readonly minVersion?: tls.SecureVersion;
  readonly maxVersion?: tls.SecureVersion;
  /** ALPN protocols to offer; ['coap'] by default as RFC 8323 §4.1 asks, false for none. */
  readonly alpn?: readonly string[] | false;
}

export type TcpEndpointOptions = StreamConnectOptions & StreamEndpointOptions & {
  /** Resolve only after the peer's CSM has arrived (default true) so its Max-Message-Size is known. */
  readonly waitForCsm?: boolean;
};
export type TlsEndpointOptions = TcpEndpointOptions & TlsSecurityOptions;

/** The PSK suites LwM2M names (CCM_8 is mandatory for LwM2M 1.x), then common GCM/CBC fallbacks. */
export const DEFAULT_PSK_CIPHERS = 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:PSK-AES128-CCM:PSK-AES128-CBC-SHA256:PSK-AES256-GCM-SHA384';

function isIp(host: string): boolean {
  return net.isIP(host) !== 0;
}

/** Opens a plain TCP connection; errors become TlsError with failure 'refused', 'timeout' or 'network'. */
export function openTcpSocket(options: StreamConnectOptions): Promise<net.Socket> {
  const where = `tcp ${options.host}:${options.port}`;
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TlsError('timeout', `${where}: connect timed out`));
    }, options.connectTimeoutMs ?? 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(tlsErrorFrom(err, where, false));
    });
  });
}

/**
 * Opens a TLS connection with PSK (pskIdentity + pskKey) or certificates (verified against `ca` unless
 * rejectUnauthorized is false). Resolves after the handshake; failures are TlsErrors without any secret in them.
 */
export function openTlsSocket(options: StreamConnectOptions & TlsSecurityOptions): Promise<tls.TLSSocket> {
  const where = `tls ${options.host}:${options.port}`;
  const psk = options.pskKey !== undefined || options.pskIdentity !== undefined;
  if (psk && (options.pskKey === undefined || options.pskIdentity === undefined)) {
    return Promise.reject(new TlsError('handshake', `${where}: PSK needs both pskIdentity and pskKey`));
  }
  if (psk && options.pskKey!.length === 0) return Promise.reject(new TlsError('handshake', `${where}: the PSK key is empty`));
  const alpn = options.alpn === false ? undefined : [...(options.alpn ?? ['coap'])];
  const connectOptions: tls.ConnectionOptions = {
    host: options.host,
    port: options.port,
    rejectUnauthorized: options.rejectUnauthorized !== false,
    ...(alpn ? { ALPNProtocols: alpn } : {}),
    ...(options.minVersion ? { minVersion: options.minVersion } : {}),
  };
  const servername = options.servername ?? (isIp(options.host) ? undefined : options.host);
  if (servername !== undefined) connectOptions.servername = servername;
  if (psk) {
    const identity = options.pskIdentity!;
    const key = Buffer.from(options.pskKey!);
    connectOptions.pskCallback = () => ({ psk: key, identity });
    connectOptions.ciphers = options.ciphers ?? DEFAULT_PSK_CIPHERS;
    // TLS 1.3 PSK in OpenSSL needs session-ticket style PSKs; LwM2M servers speak TLS 1.2 PSK.
    connectOptions.maxVersion = options.maxVersion ?? 'TLSv1.2';
    // Without a certificate there is no name to check; the PSK itself authenticates the server.
    connectOptions.checkServerIdentity = () => undefined;
  } else {
    if (options.ciphers) connectOptions.ciphers = options.ciphers;
    if (options.maxVersion) connectOptions.maxVersion = options.maxVersion;
    if (options.ca !== undefined) connectOptions.ca = typeof options.ca === 'string' || Buffer.isBuffer(options.ca) ? options.ca : [...options.ca];
    if (options.cert !== undefined) connectOptions.cert = options.cert;
    if (options.key !== undefined) connectOptions.key = options.key;
    if (servername === undefined && isIp(options.host)) {
      // Verify an IP-addressed server against its IP SANs, as Node does without a servername.
      connectOptions.checkServerIdentity = (_name, cert) => tls.checkServerIdentity(options.host, cert);
    }
  }
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    let settled = false;
    const socket = tls.connect(connectOptions);
    // Nagle would hold back the client's second handshake flight until the server's delayed ACK (~40 ms on Linux).
    socket.setNoDelay(true);
    const fail = (err: TlsError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TlsError('timeout', `${where}: handshake timed out`)), options.connectTimeoutMs ?? 10_000);
    socket.once('secureConnect', () => {
      if (settled) return;
      // With rejectUnauthorized false Node still connects; report nothing, the caller chose that.
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => fail(tlsErrorFrom(err, where, false)));
    socket.once('close', () => fail(new TlsError('handshake', `${where}: connection closed during the handshake`)));
  });
}

async function endpointOver(socket: net.Socket, options: TcpEndpointOptions): Promise<StreamCoapEndpoint> {
  const endpoint = new StreamCoapEndpoint(socket, options);
  if (options.waitForCsm !== false) {
    try {
      await endpoint.ready;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
  return endpoint;
}

/** coap+tcp://: connects and returns the RFC 8323 endpoint (after the peer's CSM unless waitForCsm is false). */
export async function connectTcpEndpoint(options: TcpEndpointOptions): Promise<StreamCoapEndpoint> {
  return endpointOver(await openTcpSocket(options), options);
}

/** coaps+tcp://: TLS (PSK or certificates), then the RFC 8323 endpoint. */
export async function connectTlsEndpoint(options: TlsEndpointOptions): Promise<StreamCoapEndpoint> {
  return endpointOver(await openTlsSocket(options), options);
}
