// The simulated device as a library: connects to the server URI's transport, registers, simulates, logs one line per event.
import {
  ClientUsageError, ConnectError, FirmwareState, NOTIFY_PRESETS, connectClient, systemClock,
  type Clock, type CoapEndpoint, type CoapEndpointOptions, type ConnectedClient, type DownloadOptions, type Lwm2mClient,
  type ObjectInstance, type RetryOptions, type StreamEndpointOptions,
} from 'lwm2m-gen/runtime';
import { Config } from '../../generated/config.js';
import { DEFAULT_SETTINGS, SimConfig, SimDevice, SimFirmware, Ticker } from './objects.js';
import { SendLoop, checkSendPaths } from './send.js';

/** Notification defaults the device offers: the spec's (pmin 0, no pmax) or the 2016 library's profile. */
export type NotifyPresetName = keyof typeof NOTIFY_PRESETS;

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
  /** Content-Format of multi-value Reads without Accept, announced as `ct` (default SenML CBOR; TLV for LwM2M 1.0 servers). */
  readonly preferredFormat?: number;
  /** Notification defaults where neither the server's attributes nor the Server object say (default 'spec'). */
  readonly notifyPreset?: NotifyPresetName;
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
  /** Stops the device when aborted, also while the first Register is still unanswered (a SIGINT at start). */
  readonly signal?: AbortSignal;
  /**
   * Paths to Send (LwM2M 1.1, POST /dp), e.g. ["/3/0/9", "/3/0/13"]: checked against the device's objects at start
   * (SendPathsError names a bad one), sent once after the first registration, or every `sendIntervalMs`.
   */
  readonly sendPaths?: readonly string[];
  readonly sendIntervalMs?: number;
}

export interface SimpleDevice {
  readonly client: Lwm2mClient;
  readonly device: SimDevice;
  /** The Server object instance (/1) the runtime made from the options. */
  readonly server: ObjectInstance | undefined;
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

/** The example's wording of the runtime's connect errors: it names the command line flags. */
function deviceError(err: ConnectError, o: SimpleDeviceOptions): SimpleDeviceError {
  const scheme = o.server.split(':', 1)[0] ?? '';
  switch (err.reason) {
    case 'bad-uri': return new SimpleDeviceError(err.message.includes('no host') ? 'the server URI has no host' : `--server "${o.server}" is not a URI`, err);
    case 'psk-missing': return new SimpleDeviceError(`${scheme}:// needs --psk-identity and --psk-key`, err);
    case 'psk-unexpected': return new SimpleDeviceError(`--psk-identity/--psk-key need a secure URI (coaps:// or coaps+tcp://), not ${scheme}://`, err);
    case 'bad-connection-string': return new SimpleDeviceError(`bad --connection-string: ${err.message.replace(/^bad connection string: /, '')}`, err);
    case 'endpoint-mismatch': return new SimpleDeviceError('--endpoint differs from the connection string\'s DeviceId; give one or the other', err);
    case 'endpoint-required': return new SimpleDeviceError('--endpoint (or --connection-string) is required', err);
    default: return new SimpleDeviceError(err.message, err);
  }
}

/** A registration's location as a path (`/rd/5a3f`), for the log lines of both ways to start the device. */
export function formatLocation(location: readonly string[]): string {
  return `/${location.join('/')}`;
}

/** Starts the simulated device; resolves once the first Register attempt is done (watch the log for retries). */
export async function startSimpleDevice(o: SimpleDeviceOptions): Promise<SimpleDevice> {
  const log = o.log ?? ((line: string) => console.log(line));
  const clock = o.clock ?? systemClock;
  const wallClock = o.wallClock ?? Date.now;
  const lifetime = o.lifetime ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 1) throw new SimpleDeviceError('--lifetime must be a positive integer of seconds');

  log(`starting ${o.endpoint ?? 'the device'}: connecting to ${o.server}`);
  let connected: ConnectedClient;
  try {
    connected = await connectClient(o.server, {
      lifetime,
      ...(o.endpoint !== undefined ? { endpointName: o.endpoint } : {}),
      ...(o.connectionString !== undefined ? { connectionString: o.connectionString } : {}),
      ...(o.sasTtlSeconds !== undefined ? { sasTtlSeconds: o.sasTtlSeconds } : {}),
      ...(o.sasRenewBeforeSeconds !== undefined ? { sasRenewBeforeSeconds: o.sasRenewBeforeSeconds } : {}),
      wallClock,
      onSasRenewed: (expiresAt) => log(`SAS token renewed (expires ${new Date(expiresAt).toISOString()}): registering again`),
      ...(o.pskIdentity !== undefined ? { pskIdentity: o.pskIdentity } : {}),
      ...(o.pskKey !== undefined ? { pskKey: o.pskKey } : {}),
      ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
      ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
      ...(o.coap ? { coap: o.coap } : {}),
      ...(o.stream ? { stream: o.stream } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
      ...(o.lwm2mVersion ? { lwm2mVersion: o.lwm2mVersion } : {}),
      ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
      ...(o.notifyPreset !== undefined ? { notifyPolicy: NOTIFY_PRESETS[o.notifyPreset] } : {}),
      ...(o.stopTimeoutMs !== undefined ? { closeTimeoutMs: o.stopTimeoutMs } : {}),
    });
  } catch (err) {
    if (err instanceof ConnectError) throw deviceError(err, o);
    if (err instanceof ClientUsageError) throw new SimpleDeviceError(err.message, err);
    throw err;
  }
  const { client: c, endpoint: transport, binding, endpointName } = connected;

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
    clock, wallClock, serial: `SIM-${endpointName}`, binding,
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

  // The Server object (/1) is the runtime's: connectClient's lifetime and binding are what it holds and registers with.
  c.addInstance(device).addInstance(firmware)
    .addObject(Config, { create: (instanceId) => newConfig(instanceId) })
    .addInstance(newConfig(0));

  let sending: SendLoop | undefined;
  if (o.sendPaths !== undefined) {
    try {
      checkSendPaths(c.registry, o.sendPaths);
    } catch (err) {
      simulation.stop();
      device.behaviour.dispose();
      await connected.close();
      throw err;
    }
    sending = new SendLoop({
      paths: o.sendPaths, clock, log, send: (paths, options) => c.send(paths, options),
      ...(o.sendIntervalMs !== undefined ? { intervalMs: o.sendIntervalMs } : {}),
      ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
    });
  }

  c.on('registered', (e) => log(`registered as ${endpointName} at ${formatLocation(e.location)} (lifetime ${e.lifetime} s, ${o.server})`));
  c.on('registered', () => sending?.registered());
  c.on('updated', (e) => log(`updated ${formatLocation(e.location)}${e.lifetime !== undefined ? ` lifetime ${e.lifetime} s` : ''}${e.links ? ' with new object links' : ''}`));
  c.on('deregistered', (e) => log(`deregistered from ${formatLocation(e.location)} (${e.reason})`));
  c.on('registration-pending', (e) => {
    if (e.operation === 'register') log(`no answer from ${o.server} after ${e.waitedMs / 1000} s (attempt ${e.attempt}); still trying`);
  });
  c.on('registration-failed', (e) => log(`${e.operation} failed${e.code ? ` with ${e.code}` : ''}: ${e.error.message}; retry in ${Math.round(e.retryInMs / 1000)} s`));
  c.on('request', (e) => log(`${e.method} ${e.uriPath} -> ${e.code}`));
  c.on('error', (e) => log(`error: ${e.message}`));

  let stopping: Promise<void> | undefined;
  /** One stop, however many callers: each waits for the De-register to finish. */
  const stop = (): Promise<void> => (stopping ??= (async () => {
    stopped = true;
    simulation.stop();
    sending?.stop();
    device.behaviour.dispose();
    await rebooting?.catch(() => undefined);
    const registered = c.state === 'registered';
    const { timedOut } = await connected.close();
    if (timedOut && registered) log('the server did not answer the De-register in time; closing anyway');
  })());
  // Aborted while the first Register is still unanswered: closing the transport ends that exchange too.
  o.signal?.addEventListener('abort', () => void stop(), { once: true });

  simulation.start();
  try {
    if (!o.signal?.aborted) await c.start();
  } catch (err) {
    await stop();
    if (err instanceof ClientUsageError) throw new SimpleDeviceError(err.message, err);
    throw err;
  }

  return {
    client: c, device, server: c.serverInstance, firmware, endpointName, transport,
    get config() {
      const inst = c.registry.instance(Config.id, 0);
      return inst instanceof SimConfig ? inst : undefined;
    },
    get rebooting() {
      return rebooting;
    },
    stop,
  };
}
