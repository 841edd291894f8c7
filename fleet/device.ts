// One simulated device: its transport for any of the runtime's schemes, metered (response times, notifications), and its client.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  Lwm2mClient, createUdpEndpoint, openServerTransport,
  type Block1Selector, type CoapEndpoint, type CoapEndpointOptions, type IncomingResponse, type NotificationOutcome, type ObjectInstance,
  type OutgoingRequest, type OutgoingResponse, type Peer, type RecoveringEndpoint, type RequestHandler,
  type RetryOptions, type ServerUri, type StreamEndpointOptions,
} from 'lwm2m-gen/runtime';
import type { DeviceCredentials } from './credentials.js';

/** Transport and client settings every device of a fleet shares. */
export interface DeviceSettings {
  /** Registration lifetime in seconds. */
  readonly lifetime: number;
  /** Send an Update this often (seconds) instead of the runtime's default schedule. */
  readonly updateEverySeconds?: number;
  readonly retry?: RetryOptions;
  readonly coap?: CoapEndpointOptions;
  readonly stream?: StreamEndpointOptions;
  readonly handshakeTimeoutMs?: number;
}

/** Where the device's own requests and notifications are counted. */
export interface DeviceMeter {
  /** A Register, Update or De-register answered after `ms`. */
  response(ms: number, request: OutgoingRequest): void;
  notification(): void;
}

export interface OpenedDevice {
  readonly client: Lwm2mClient;
  /** The metered endpoint the client runs on. */
  readonly endpoint: CoapEndpoint;
  /** DTLS, TCP and TLS endpoints that re-handshake or reconnect after a server restart. */
  readonly recovery?: RecoveringEndpoint;
  /** De-registers (waiting at most timeoutMs for the answer) and closes the socket; resolves true when it timed out. */
  close(timeoutMs: number): Promise<boolean>;
}

/** The server's address for coap:// devices, looked up once for the whole fleet. */
export async function resolveServer(uri: ServerUri): Promise<Peer> {
  return { address: isIP(uri.host) ? uri.host : (await lookup(uri.host)).address, port: uri.port };
}

/** The device's endpoint with its own requests timed and its notifications counted; a class, so 100,000 of them share their methods. */
class MeteredEndpoint implements CoapEndpoint {
  constructor(readonly inner: CoapEndpoint, readonly meter: DeviceMeter) {}

  async request(peer: Peer, req: OutgoingRequest): Promise<IncomingResponse> {
    const t0 = performance.now();
    const res = await this.inner.request(peer, req);
    this.meter.response(performance.now() - t0, req);
    return res;
  }

  serve(handler: RequestHandler): void {
    this.inner.serve(handler);
  }

  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome> {
    this.meter.notification();
    return this.inner.notify(peer, token, response, confirmable);
  }

  streamBlock1(selector: Block1Selector | undefined): void {
    this.inner.streamBlock1?.(selector);
  }

  address(): Peer {
    return this.inner.address();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Opens the device's transport (coap:// on its own UDP socket from `localAddress`, the others through the runtime's
 * openServerTransport) and builds its client with `instances`; not started. Throws ConnectError when it cannot connect.
 */
export async function openDevice(
  serverUri: string, uri: ServerUri, server: Peer | undefined, c: DeviceCredentials, instances: readonly ObjectInstance[],
  settings: DeviceSettings, meter: DeviceMeter, localAddress?: string,
): Promise<OpenedDevice> {
  let client: Lwm2mClient | undefined;
  const coap: CoapEndpointOptions = { ...settings.coap, onNotificationReset: (peer, token) => client?.notificationReset(peer, token) };
  let raw: CoapEndpoint;
  let recovery: RecoveringEndpoint | undefined;
  if (uri.scheme === 'coap') {
    const to = server ?? await resolveServer(uri);
    server = to;
    // A loopback server is reached from loopback (as connectClient does); otherwise the OS picks the interface.
    const address = localAddress ?? (to.address.startsWith('127.') || to.address === '::1' ? to.address : undefined);
    raw = await createUdpEndpoint({ ...coap, type: isIP(address ?? to.address) === 6 ? 'udp6' : 'udp4', ...(address !== undefined ? { address } : {}) });
  } else {
    const opened = await openServerTransport(serverUri, {
      coap,
      ...(c.pskIdentity !== undefined ? { pskIdentity: c.pskIdentity, pskKey: c.pskKey! } : {}),
      ...(settings.stream ? { stream: settings.stream } : {}),
      ...(settings.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: settings.handshakeTimeoutMs } : {}),
    });
    raw = opened.endpoint;
    server = opened.server;
    recovery = opened.recovery;
  }
  const endpoint = new MeteredEndpoint(raw, meter);
  const every = settings.updateEverySeconds;
  try {
    client = new Lwm2mClient({
      endpointName: c.endpointName, transport: endpoint, server, binding: uri.binding, lifetime: settings.lifetime,
      ...(every !== undefined ? { updateAfter: () => every } : {}),
      ...(settings.retry ? { retry: settings.retry } : {}),
    });
    for (const inst of instances) client.addInstance(inst);
  } catch (err) {
    await raw.close();
    throw err;
  }
  const c2 = client;
  if (recovery) {
    // A stream server that dropped the connection may have restarted: find out now (connectClient does the same).
    recovery.onConnectionLost(() => { void c2.update(); });
  }
  let closing: Promise<boolean> | undefined;
  const close = async (timeoutMs: number): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      c2.stop().then(() => false, () => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    await raw.close().catch(() => undefined);
    return timedOut;
  };
  return { client: c2, endpoint, ...(recovery ? { recovery } : {}), close: (ms) => (closing ??= close(ms)) };
}
