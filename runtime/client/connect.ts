// From a server URI (and optionally an IoT Hub connection string) to a connected, SAS-authenticated Lwm2mClient.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseConnectionString, SasTokenSource, type ConnectionString, type SasTokenGrant } from '../auth/index.js';
import { systemClock, type Clock, type TimerHandle } from '../coap/clock.js';
import { createCoapEndpoint, type CoapEndpointOptions } from '../coap/endpoint.js';
import { createDtlsTransport } from '../coap/dtls.js';
import { ReconnectingStreamEndpoint, RehandshakingEndpoint, type RecoveringEndpoint } from '../coap/reconnect.js';
import { connectCoapEndpoint } from '../coap/stream-connect.js';
import { parseUri, type ParsedUri } from '../coap/uri.js';
import type { StreamEndpointOptions } from '../coap/tcp.js';
import type { CoapEndpoint, Peer } from '../coap/types.js';
import { createUdpEndpoint } from '../coap/udp.js';
import { TransportError } from '../coap/stream-errors.js';
import { dtlsAnswers } from './dtls-probe.js';
import { Lwm2mClient, type Lwm2mClientOptions } from './client.js';

/** The server URI schemes a client can connect with: UDP, DTLS-PSK, TCP and TLS-PSK (RFC 8323). */
export type ServerScheme = 'coap' | 'coaps' | 'coap+tcp' | 'coaps+tcp';

export type ConnectErrorReason =
  | 'bad-uri' // not a URI, or no host
  | 'unsupported-scheme'
  | 'psk-missing' // a secure scheme without pskIdentity and pskKey
  | 'psk-unexpected' // PSK credentials with a plain scheme
  | 'bad-connection-string'
  | 'endpoint-required' // neither endpointName nor a connection string
  | 'endpoint-mismatch' // endpointName differs from the connection string's DeviceId
  | 'connect-failed'; // socket, DNS, handshake or SAS setup failure

/**
 * Why a client could not connect. `reason` lets an app word the problem its own way (a CLI names its flags);
 * messages never contain a PSK key, a shared access key or a token.
 */
export class ConnectError extends Error {
  readonly reason: ConnectErrorReason;
  override readonly cause: unknown;
  constructor(reason: ConnectErrorReason, message: string, cause?: unknown) {
    super(message);
    this.name = 'ConnectError';
    this.reason = reason;
    this.cause = cause;
  }
}

export interface ServerUri {
  readonly scheme: ServerScheme;
  /** Host name or address, IPv6 literals without brackets. */
  readonly host: string;
  /** The URI's port, or 5683 (plain) / 5684 (secure). */
  readonly port: number;
  readonly secure: boolean;
  /** The Binding the transport implies: "U" for UDP and DTLS, "T" for TCP and TLS. */
  readonly binding: 'U' | 'T';
}

const SCHEMES: ReadonlySet<string> = new Set<ServerScheme>(['coap', 'coaps', 'coap+tcp', 'coaps+tcp']);

/** Parses and checks a server URI; throws ConnectError ('bad-uri', 'unsupported-scheme'). */
export function parseServerUri(uri: string): ServerUri {
  let parsed: ParsedUri;
  try {
    parsed = parseUri(uri);
  } catch {
    // The URI is not echoed: a mistyped one may hold credentials in its userinfo.
    throw new ConnectError('bad-uri', 'the server URI is not a valid URI');
  }
  const { scheme, host } = parsed;
  if (!SCHEMES.has(scheme)) {
    throw new ConnectError('unsupported-scheme', `unsupported scheme ${scheme}:// (use coap, coaps, coap+tcp or coaps+tcp)`);
  }
  if (host === '') throw new ConnectError('bad-uri', 'the server URI has no host');
  const secure = scheme === 'coaps' || scheme === 'coaps+tcp';
  const port = parsed.port!;
  return { scheme: scheme as ServerScheme, host, port, secure, binding: scheme.endsWith('+tcp') ? 'T' : 'U' };
}

export interface ServerTransportOptions {
  /** PSK credentials; required by coaps:// and coaps+tcp://, refused with coap:// and coap+tcp://. */
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
  /** Local UDP port (coap://, coaps://); ephemeral by default. */
  readonly localPort?: number;
  /** Time allowed for a DTLS/TLS handshake or TCP connect (default 5 000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** CoAP message layer options of UDP/DTLS endpoints. */
  readonly coap?: CoapEndpointOptions;
  /** RFC 8323 endpoint options of coap+tcp:// and coaps+tcp:// connections. */
  readonly stream?: StreamEndpointOptions;
  /** Timers of every transport's endpoint: retransmissions, request timeouts, Ping and CSM (a ManualClock in tests). */
  readonly clock?: Clock;
}

export interface ServerTransport {
  /** For coaps://, coap+tcp:// and coaps+tcp:// a RecoveringEndpoint (see `recovery`); a plain UDP endpoint for coap://. */
  readonly endpoint: CoapEndpoint;
  /**
   * The same endpoint as `endpoint` where it survives a server restart: DTLS re-handshakes after a request timed
   * out, TCP/TLS reconnects once the connection closed, both on the next request. Undefined for coap:// (UDP has
   * no session to lose).
   */
  readonly recovery?: RecoveringEndpoint;
  /** Where to send registration requests; requests from any other peer are refused by the client. */
  readonly server: Peer;
  readonly binding: 'U' | 'T';
  readonly scheme: ServerScheme;
}

/** Checks the URI and credentials without touching the network; throws ConnectError. */
export function checkServerTransport(uri: string, options: ServerTransportOptions): ServerUri {
  const parsed = parseServerUri(uri);
  const hasPsk = options.pskIdentity !== undefined || options.pskKey !== undefined;
  if (parsed.secure && (options.pskIdentity === undefined || options.pskKey === undefined)) {
    throw new ConnectError('psk-missing', `${parsed.scheme}:// needs pskIdentity and pskKey`);
  }
  if (!parsed.secure && hasPsk) {
    throw new ConnectError('psk-unexpected', `PSK credentials need a secure URI (coaps:// or coaps+tcp://), not ${parsed.scheme}://`);
  }
  return parsed;
}

/**
 * What to tell the user about a failed secure handshake: a server that answered and then refused (TLS alert,
 * or a DTLS server that dropped our Finished, as GnuTLS does on a wrong key) most likely has other PSK credentials.
 */
async function handshakeHint(err: unknown, scheme: ServerScheme, host: string, port: number): Promise<string> {
  if (!(err instanceof TransportError) || (scheme !== 'coaps' && scheme !== 'coaps+tcp')) return '';
  const check = '; the server answered but refused the handshake: check the PSK identity and key';
  if (err.failure === 'handshake') return check;
  if (err.failure !== 'timeout' || scheme !== 'coaps') return '';
  return (await dtlsAnswers(await resolveHost(host).catch(() => host), port)) ? check : '; nothing answers DTLS there';
}

async function resolveHost(host: string): Promise<string> {
  if (isIP(host)) return host;
  return (await lookup(host)).address;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Opens the transport a server URI names: coap:// (UDP), coaps:// (DTLS-PSK), coap+tcp:// or coaps+tcp:// (TLS-PSK).
 * Wire `coap.onNotificationReset` to the client (connectClient does). Throws ConnectError; the caller owns the endpoint.
 */
export async function openServerTransport(uri: string, options: ServerTransportOptions = {}): Promise<ServerTransport> {
  const { scheme, host, port, secure, binding } = checkServerTransport(uri, options);
  const coap: CoapEndpointOptions = { ...options.coap, ...(options.clock ? { clock: options.clock } : {}) };
  const timeoutMs = options.handshakeTimeoutMs ?? 5000;
  try {
    switch (scheme) {
      case 'coap': {
        const address = await resolveHost(host);
        const endpoint = await createUdpEndpoint({
          type: isIP(address) === 6 ? 'udp6' : 'udp4',
          port: options.localPort ?? 0,
          // A loopback server is reached from loopback: nothing else on the machine needs to see the device.
          ...(isLoopback(address) ? { address } : {}),
          ...coap,
        });
        return { endpoint, server: { address, port }, binding, scheme };
      }
      case 'coaps': {
        const transport = await createDtlsTransport({
          host: await resolveHost(host), port, pskIdentity: options.pskIdentity!, pskKey: options.pskKey!, timeoutMs,
          ...(options.localPort !== undefined ? { listenPort: options.localPort } : {}),
        });
        const endpoint = new RehandshakingEndpoint(createCoapEndpoint(transport, coap), transport);
        return { endpoint, recovery: endpoint, server: transport.remote, binding, scheme };
      }
      case 'coap+tcp':
      case 'coaps+tcp': {
        // Every connection, the first and those after a drop, is opened with the same options.
        const endpoint = await ReconnectingStreamEndpoint.open(() => connectCoapEndpoint(uri, {
          ...options.stream,
          ...(options.clock ? { clock: options.clock } : {}),
          connectTimeoutMs: timeoutMs,
          ...(secure ? { pskIdentity: options.pskIdentity!, pskKey: options.pskKey! } : {}),
        }));
        return { endpoint, recovery: endpoint, server: endpoint.remote(), binding, scheme };
      }
    }
  } catch (err) {
    // The transports' messages are our own texts (DtlsError, TlsError, socket errors): no key material.
    const why = err instanceof Error ? err.message : String(err);
    const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new ConnectError('connect-failed', `cannot connect to ${scheme}://${shown}: ${why}${await handshakeHint(err, scheme, host, port)}`, err);
  }
}

export interface SasOptions {
  /** `HostName=…;DeviceId=…;SharedAccessKey=…`: the DeviceId is the endpoint name, each Register carries `tk=<SAS token>`. */
  readonly connectionString?: string;
  /** Token lifetime (default 3600 s). */
  readonly sasTtlSeconds?: number;
  /** Renew (and register again) this long before the token expires (default 300 s). */
  readonly sasRenewBeforeSeconds?: number;
  /** Milliseconds since the epoch for token expiry and Send timestamps; Date.now by default (tests tie it to their ManualClock). */
  readonly wallClock?: () => number;
  /** Told when a renewed token is about to be registered; gets only its expiry, never the token. */
  readonly onSasRenewed?: (expiresAt: number) => void;
}

export type ConnectClientOptions = ServerTransportOptions & SasOptions
  & Omit<Lwm2mClientOptions, 'endpointName' | 'transport' | 'server' | 'binding'> & {
    /** Endpoint Client Name; may be left out with a connection string (its DeviceId), must equal it otherwise. */
    readonly endpointName?: string;
    /** Binding announced; by default the transport's ("U" or "T"). */
    readonly binding?: string;
    /**
     * How long close() waits for the De-register's answer before closing anyway (default 5 000 ms, real time; at most
     * 1 000 ms when the client is not registered).
     */
    readonly closeTimeoutMs?: number;
  };

export interface ConnectedClient {
  /** Not started yet: add objects, subscribe to events, then `client.start()`. */
  readonly client: Lwm2mClient;
  readonly endpoint: CoapEndpoint;
  readonly server: Peer;
  readonly binding: string;
  readonly endpointName: string;
  readonly scheme: ServerScheme;
  /**
   * Stops SAS renewal, de-registers (waiting at most closeTimeoutMs for the answer) and closes the endpoint.
   * Resolves `timedOut: true` when the server did not answer the De-register in time. Safe to call twice.
   */
  close(): Promise<{ readonly timedOut: boolean }>;
}

/** What a connection string yields before connecting: the endpoint name and, with a connection string, the token source. */
export interface ClientIdentity {
  readonly endpointName: string;
  readonly sas: SasTokenSource | undefined;
}

/** Resolves the endpoint name and SAS token source from the options; throws ConnectError without echoing secrets. */
export function clientIdentity(options: SasOptions & { readonly endpointName?: string }): ClientIdentity {
  let endpointName = options.endpointName;
  let sas: SasTokenSource | undefined;
  if (options.connectionString !== undefined) {
    let cs: ConnectionString;
    try {
      cs = parseConnectionString(options.connectionString);
      sas = new SasTokenSource(cs, {
        ttlSeconds: options.sasTtlSeconds ?? 3600,
        renewBeforeSeconds: options.sasRenewBeforeSeconds ?? 300,
        ...(options.wallClock ? { clock: options.wallClock } : {}),
      });
    } catch (err) {
      // The parser's messages name the field, never its value.
      throw new ConnectError('bad-connection-string', `bad connection string: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    if (endpointName !== undefined && endpointName !== cs.deviceId) {
      throw new ConnectError('endpoint-mismatch', "endpointName differs from the connection string's DeviceId; give one or the other");
    }
    endpointName = cs.deviceId;
  }
  if (endpointName === undefined || endpointName === '') {
    throw new ConnectError('endpoint-required', 'an endpointName or a connection string is required');
  }
  return { endpointName, sas };
}

/**
 * Re-registers `client` with a fresh token before each one expires, on `clock`. The timer is armed on every
 * 'registered' (so reboots and retries re-arm it) and dropped on 'deregistered'. Returns the function that stops it.
 */
export function renewSasRegistration(
  client: Lwm2mClient, sas: SasTokenSource, clock: Clock = systemClock, onRenewed?: (grant: SasTokenGrant) => void,
): () => void {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const cancel = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };
  const arm = (): void => {
    cancel();
    if (stopped) return;
    sas.current();
    // At least a second: a renewal due now (a token shorter-lived than the registration round trip) must not spin.
    timer = clock.setTimeout(() => {
      timer = undefined;
      const grant = sas.current();
      onRenewed?.(grant);
      void client.reregister();
    }, Math.max(1000, sas.msUntilRenewal()));
  };
  const offRegistered = client.on('registered', arm);
  const offDeregistered = client.on('deregistered', cancel);
  return () => {
    stopped = true;
    cancel();
    offRegistered();
    offDeregistered();
  };
}

/** How long close() waits for a client that is not registered (its Register may still be answered and de-registered). */
const NOT_REGISTERED_CLOSE_MS = 1000;

/** Lets connectClient report transport failures through the client's own 'error' event (emit is protected). */
class ConnectedLwm2mClient extends Lwm2mClient {
  reportTransportError(err: Error): void {
    this.emit('error', err);
  }
}

/**
 * Opens the transport the URI names and builds the client on it: endpoint name from the options or the connection
 * string's DeviceId, Binding from the transport, `tk=` SAS token on every Register, renewal before expiry on the
 * client's clock, notification resets wired. Options are checked before any socket opens. Throws ConnectError.
 * After a server restart the client recovers: on coaps:// a Register/Update that timed out makes the next attempt
 * re-handshake; on coap+tcp:// and coaps+tcp:// a dropped connection is reopened for the next request, and a
 * registered client sends an Update on it at once (a restarted server answers 4.04 and the client registers
 * afresh). Failed handshakes and connects are reported as 'error' (DtlsError, TlsError) and retried with the
 * client's backoff.
 */
export async function connectClient(uri: string, options: ConnectClientOptions): Promise<ConnectedClient> {
  const {
    pskIdentity: _pskIdentity, pskKey: _pskKey, localPort: _localPort, handshakeTimeoutMs: _handshake, coap, stream: _stream,
    connectionString: _cs, sasTtlSeconds: _ttl, sasRenewBeforeSeconds: _renew, wallClock: _wall, onSasRenewed,
    endpointName: _endpointName, binding: bindingOption, closeTimeoutMs, extraQuery, ...clientOptions
  } = options;
  checkServerTransport(uri, options);
  const { endpointName, sas } = clientIdentity(options);
  let client: ConnectedLwm2mClient | undefined;
  const userReset = coap?.onNotificationReset;
  const opened = await openServerTransport(uri, {
    ...options,
    coap: {
      ...coap,
      onNotificationReset: (peer, token) => {
        client?.notificationReset(peer, token);
        userReset?.(peer, token);
      },
    },
  });
  const binding = bindingOption ?? opened.binding;
  const query = sas
    ? (): readonly string[] => [
      ...(typeof extraQuery === 'function' ? extraQuery() : extraQuery ?? []),
      `tk=${sas.current().token}`,
    ]
    : extraQuery;
  try {
    client = new ConnectedLwm2mClient({
      ...clientOptions, endpointName, transport: opened.endpoint, server: opened.server, binding,
      ...(query !== undefined ? { extraQuery: query } : {}),
      ...(_wall ? { wallClock: _wall } : {}),
    });
  } catch (err) {
    await opened.endpoint.close();
    throw err;
  }
  const c = client;
  const offRecovery = opened.recovery
    ? [
      opened.recovery.onReconnectError((err) => c.reportTransportError(err)),
      // A stream server that dropped the connection may have restarted: find out now rather than at the next Update.
      // UDP-style DTLS sessions end this way only on a fatal alert; the Update then re-handshakes first.
      opened.recovery.onConnectionLost(() => { void c.update(); }),
    ]
    : [];
  const stopRenewal = sas
    ? renewSasRegistration(c, sas, options.clock ?? systemClock, onSasRenewed ? (g) => onSasRenewed(g.expiresAt) : undefined)
    : () => undefined;
  let closing: Promise<{ readonly timedOut: boolean }> | undefined;
  const close = async (): Promise<{ readonly timedOut: boolean }> => {
    stopRenewal();
    for (const off of offRecovery) off();
    // A server that stopped answering must not hold the app for CoAP's full ~93 s retransmission span. Not
    // registered (a Register still unanswered), there is only that Register's late answer to wait for: a second.
    const limit = c.state === 'registered' ? closeTimeoutMs ?? 5000 : Math.min(closeTimeoutMs ?? 5000, NOT_REGISTERED_CLOSE_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timedOut = await Promise.race([
        c.stop().then(() => false),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), limit); }),
      ]);
      return { timedOut };
    } finally {
      clearTimeout(timer);
      await opened.endpoint.close();
    }
  };
  return {
    client: c, endpoint: opened.endpoint, server: opened.server, binding, endpointName, scheme: opened.scheme,
    close: () => (closing ??= close()),
  };
}
