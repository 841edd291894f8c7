// The simulated device as a library: connects to the server URI's transport, registers, simulates, logs one line per event.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  FirmwareState, Lwm2mClient, SasTokenSource, connectCoapEndpoint, createCoapEndpoint, createDtlsTransport, createUdpEndpoint,
  parseConnectionString, systemClock,
  type Clock, type CoapEndpoint, type CoapEndpointOptions, type DownloadOptions, type Peer, type RetryOptions,
  type StreamEndpointOptions, type TimerHandle,
} from 'lwm2m-gen/runtime';
import { Config } from '../../generated/config.js';
import { DEFAULT_SETTINGS, SimConfig, SimDevice, SimFirmware, SimServer, Ticker } from './objects.js';

export interface SimpleDeviceOptions {
  /** coap://, coaps:// (DTLS-PSK), coap+tcp:// or coaps+tcp:// (TLS-PSK) URI of the LwM2M server. */
  readonly server: string;
  /** Endpoint Client Name; the connection string's DeviceId when one is given. */
  readonly endpoint?: string;
  /** Local UDP port (coap://, coaps://); ephemeral by default. */
  readonly localPort?: number;
  /** Registration lifetime in seconds (default 300). */
  readonly lifetime?: number;
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
  /** `HostName=…;DeviceId=…;SharedAccessKey=…`: registers with a `tk=` SAS token, renewed before it expires. */
  readonly connectionString?: string;
  /** SAS token lifetime (default 3600 s) and how long before expiry it is renewed (default 300 s). */
  readonly sasTtlSeconds?: number;
  readonly sasRenewBeforeSeconds?: number;
  /** How often battery and memory change (default 10 000 ms; the telemetryInterval setting changes it). */
  readonly simulationIntervalMs?: number;
  /** One line per event; console.log by default. Lines never contain keys or tokens. */
  readonly log?: (line: string) => void;
  /** Timers of the client and the simulation (a ManualClock in tests). */
  readonly clock?: Clock;
  readonly wallClock?: () => number;
  /** The `lwm2m=` version announced (default 1.1; "1.0" for LwM2M 1.0 servers such as coap-shepherd). */
  readonly lwm2mVersion?: string;
  /** Content-Format of multi-value Reads without Accept (default SenML CBOR; TLV for LwM2M 1.0 servers). */
  readonly preferredFormat?: number;
  /** CoAP message layer options of UDP/DTLS endpoints (short timeouts in tests). */
  readonly coap?: CoapEndpointOptions;
  /** RFC 8323 endpoint options of coap+tcp:// and coaps+tcp:// connections (request timeout in tests). */
  readonly stream?: StreamEndpointOptions;
  readonly retry?: RetryOptions;
  /** How long stop() waits for the De-register's answer before closing anyway (default 5 000 ms). */
  readonly stopTimeoutMs?: number;
  /** Time allowed for a DTLS/TLS handshake (default 5 000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Options of firmware pulls from Package URI. */
  readonly firmwareDownload?: DownloadOptions;
}

export interface SimpleDevice {
  readonly client: Lwm2mClient;
  readonly device: SimDevice;
  readonly server: SimServer;
  readonly firmware: SimFirmware;
  /** The Config instance, while there is one (a server may Delete it and Create another). */
  readonly config: SimConfig | undefined;
  readonly endpointName: string;
  /** The transport's local address (UDP/DTLS) or the connection's local end. */
  readonly transport: CoapEndpoint;
  /** Resolves when the simulated reboot in progress (if any) has registered again. */
  readonly rebooting: Promise<void> | undefined;
  /** De-registers, stops every timer and closes the transport. Safe to call twice. */
  stop(): Promise<void>;
}

/** A failure to start: a bad option, or a connection or handshake that failed (the message never holds a key). */
export class SimpleDeviceError extends Error {
  override readonly cause: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.name = 'SimpleDeviceError';
    this.cause = cause;
  }
}

interface Opened {
  readonly endpoint: CoapEndpoint;
  readonly server: Peer;
  readonly binding: string;
}

async function resolveHost(host: string): Promise<string> {
  if (isIP(host)) return host;
  return (await lookup(host)).address;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** Opens the transport the server URI names; a refused handshake is a SimpleDeviceError naming the scheme. */
async function openTransport(o: SimpleDeviceOptions, onReset: (peer: Peer, token: Uint8Array) => void): Promise<Opened> {
  let url: URL;
  try {
    url = new URL(o.server);
  } catch {
    throw new SimpleDeviceError(`--server "${o.server}" is not a URI`);
  }
  const scheme = url.protocol.slice(0, -1);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SimpleDeviceError('the server URI has no host');
  const secure = scheme === 'coaps' || scheme === 'coaps+tcp';
  if (secure && (o.pskIdentity === undefined || o.pskKey === undefined)) {
    throw new SimpleDeviceError(`${scheme}:// needs --psk-identity and --psk-key`);
  }
  if (!secure && (o.pskIdentity !== undefined || o.pskKey !== undefined)) {
    throw new SimpleDeviceError(`--psk-identity/--psk-key need a secure URI (coaps:// or coaps+tcp://), not ${scheme}://`);
  }
  const port = url.port === '' ? (secure ? 5684 : 5683) : Number(url.port);
  const coap: CoapEndpointOptions = { ...o.coap, onNotificationReset: onReset, ...(o.clock ? { clock: o.clock } : {}) };
  try {
    switch (scheme) {
      case 'coap': {
        const address = await resolveHost(host);
        const v6 = isIP(address) === 6;
        const endpoint = await createUdpEndpoint({
          type: v6 ? 'udp6' : 'udp4',
          port: o.localPort ?? 0,
          // A loopback server is reached from loopback: nothing else on the machine needs to see the device.
          ...(isLoopback(address) ? { address } : {}),
          ...coap,
        });
        return { endpoint, server: { address, port }, binding: 'U' };
      }
      case 'coaps': {
        const transport = await createDtlsTransport({
          host: await resolveHost(host), port, pskIdentity: o.pskIdentity!, pskKey: o.pskKey!,
          timeoutMs: o.handshakeTimeoutMs ?? 5000, ...(o.localPort !== undefined ? { listenPort: o.localPort } : {}),
        });
        return { endpoint: createCoapEndpoint(transport, coap), server: transport.remote, binding: 'U' };
      }
      case 'coap+tcp':
      case 'coaps+tcp': {
        const endpoint = await connectCoapEndpoint(o.server, {
          ...o.stream,
          connectTimeoutMs: o.handshakeTimeoutMs ?? 5000,
          ...(secure ? { pskIdentity: o.pskIdentity!, pskKey: o.pskKey! } : {}),
        });
        return { endpoint, server: endpoint.remote(), binding: 'T' };
      }
      default:
        throw new SimpleDeviceError(`unsupported scheme ${scheme}:// (use coap, coaps, coap+tcp or coaps+tcp)`);
    }
  } catch (err) {
    if (err instanceof SimpleDeviceError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new SimpleDeviceError(`cannot connect to ${scheme}://${url.host}: ${why}`, err);
  }
}

function formatLocation(location: readonly string[]): string {
  return `/${location.join('/')}`;
}

/** Starts the simulated device; resolves once the first Register attempt is done (watch the log for retries). */
export async function startSimpleDevice(o: SimpleDeviceOptions): Promise<SimpleDevice> {
  const log = o.log ?? ((line: string) => console.log(line));
  const clock = o.clock ?? systemClock;
  const wallClock = o.wallClock ?? Date.now;
  let sas: SasTokenSource | undefined;
  let endpointName = o.endpoint;
  if (o.connectionString !== undefined) {
    let deviceId: string;
    try {
      const cs = parseConnectionString(o.connectionString);
      deviceId = cs.deviceId;
      sas = new SasTokenSource(cs, {
        ttlSeconds: o.sasTtlSeconds ?? 3600, renewBeforeSeconds: o.sasRenewBeforeSeconds ?? 300, clock: wallClock,
      });
    } catch (err) {
      // The parser's messages name the field, never its value.
      throw new SimpleDeviceError(`bad --connection-string: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    if (endpointName !== undefined && endpointName !== deviceId) {
      throw new SimpleDeviceError('--endpoint differs from the connection string\'s DeviceId; give one or the other');
    }
    endpointName = deviceId;
  }
  if (endpointName === undefined || endpointName === '') throw new SimpleDeviceError('--endpoint (or --connection-string) is required');
  const lifetime = o.lifetime ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 1) throw new SimpleDeviceError('--lifetime must be a positive integer of seconds');

  log(`starting ${endpointName}: connecting to ${o.server}`);
  let client: Lwm2mClient | undefined;
  const opened = await openTransport(o, (peer, token) => client?.notificationReset(peer, token));
  const { endpoint: transport, binding } = opened;

  let stopped = false;
  let rebooting: Promise<void> | undefined;
  const simulation = new Ticker(() => device.simulate(), o.simulationIntervalMs ?? 10_000, clock);

  /** A simulated restart: de-register, reset the volatile state, register again. */
  const restart = (reason: string): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (rebooting) return rebooting;
    rebooting = (async () => {
      log(`${reason}: restarting`);
      simulation.stop();
      await c.stop();
      device.resetSimulation();
      if (stopped) return;
      log('restarted');
      simulation.start();
      await c.start();
    })().finally(() => {
      rebooting = undefined;
    });
    return rebooting;
  };

  const device = new SimDevice({
    clock, wallClock, serial: `SIM-${endpointName}`, binding, log,
    onReboot: () => restart('reboot'),
    onFactoryReset: async () => {
      log('factory reset: settings, firmware state and clock back to their initial values');
      settings.clear();
      for (const [k, v] of Object.entries(DEFAULT_SETTINGS)) settings.set(k, v);
      simulation.period = Number(DEFAULT_SETTINGS.telemetryInterval) * 1000;
      // A downloaded (or downloading) package does not survive a factory reset.
      if (firmware.updater.state === FirmwareState.Downloading || firmware.updater.state === FirmwareState.Downloaded) {
        await firmware.updater.cancel();
      }
      await restart('factory reset');
    },
  });
  const server = new SimServer(lifetime, binding);
  const firmware = new SimFirmware({
    device, log, onInstalled: () => restart('firmware update'), ...(o.firmwareDownload ? { download: o.firmwareDownload } : {}),
  });
  // One settings store for the device: a Config instance the server deletes and creates again applies to the same settings.
  const settings = new Map<string, string>(Object.entries(DEFAULT_SETTINGS));
  const newConfig = (instanceId: number): SimConfig => new SimConfig({
    settings,
    onApplied: ({ name, value }) => {
      log(`config applied ${name}=${value}`);
      if (name === 'telemetryInterval') simulation.period = Number(value) * 1000;
    },
    onApplyFailed: ({ name, code, error }) => log(`config apply failed for ${name} (${code}): ${error.message}`),
  }, instanceId);

  const extraQuery = sas ? (): readonly string[] => [`tk=${sas.current().token}`] : undefined;
  const c = new Lwm2mClient({
    endpointName, transport, server: opened.server, lifetime, binding,
    ...(extraQuery ? { extraQuery } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.lwm2mVersion ? { lwm2mVersion: o.lwm2mVersion } : {}),
    ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
  });
  client = c;
  c.addInstance(server).addInstance(device).addInstance(firmware)
    .addObject(Config, { create: (instanceId) => newConfig(instanceId) })
    .addInstance(newConfig(0));

  c.on('registered', (e) => log(`registered as ${endpointName} at ${formatLocation(e.location)} (lifetime ${e.lifetime} s, ${o.server})`));
  c.on('updated', (e) => log(`updated ${formatLocation(e.location)}${e.lifetime !== undefined ? ` lifetime ${e.lifetime} s` : ''}${e.links ? ' with new object links' : ''}`));
  c.on('deregistered', (e) => log(`deregistered from ${formatLocation(e.location)} (${e.reason})`));
  c.on('registration-failed', (e) => log(`${e.operation} failed${e.code ? ` with ${e.code}` : ''}: ${e.error.message}; retry in ${Math.round(e.retryInMs / 1000)} s`));
  c.on('request', (e) => log(`${e.method} ${e.uriPath} -> ${e.code}`));
  c.on('error', (e) => log(`error: ${e.message}`));

  let sasTimer: TimerHandle | undefined;
  const scheduleRenewal = (): void => {
    if (!sas || stopped) return;
    sas.current();
    sasTimer = clock.setTimeout(() => {
      sasTimer = undefined;
      const grant = sas.current();
      log(`SAS token renewed (expires ${new Date(grant.expiresAt).toISOString()}): registering again`);
      void c.reregister().then(scheduleRenewal);
    }, Math.max(1000, sas.msUntilRenewal()));
  };

  device.behaviour.start();
  simulation.start();
  await c.start();
  scheduleRenewal();

  return {
    client: c, device, server, firmware, endpointName, transport,
    get config() {
      const inst = c.registry.instance(Config.id, 0);
      return inst instanceof SimConfig ? inst : undefined;
    },
    get rebooting() {
      return rebooting;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (sasTimer !== undefined) clock.clearTimeout(sasTimer);
      simulation.stop();
      device.behaviour.dispose();
      await rebooting?.catch(() => undefined);
      // A server that stopped answering must not hold the process for CoAP's full ~93 s retransmission span.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = await Promise.race([
        c.stop().then(() => false),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), o.stopTimeoutMs ?? 5000); }),
      ]);
      clearTimeout(timer);
      if (gaveUp) log('the server did not answer the De-register in time; closing anyway');
      await transport.close();
    },
  };
}
