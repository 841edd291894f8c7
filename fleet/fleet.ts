// Fleet: N LwM2M devices in one process, each with its own endpoint name, socket and credentials, started at a ramp-up rate.
import { isIP } from 'node:net';
import {
  ConnectError, TypedEmitter, checkServerTransport, parseServerUri,
  type CoapEndpointOptions, type ObjectDefinition, type ObjectInstance, type Peer,
  type RetryOptions, type ServerUri, type StreamEndpointOptions,
} from 'lwm2m-gen/runtime';
import { openDevice, resolveServer, type DeviceMeter, type DeviceSettings, type OpenedDevice } from './device.js';
import { credentialsFor, FleetOptionError, type CredentialOptions, type DeviceCredentials } from './credentials.js';
import { ephemeralPortCount, openFileLimit, SPARE_FILES } from './limits.js';
import { modelDevice, type DeviceContext } from './model-device.js';
import { FleetStats, type FleetSnapshot } from './stats.js';
import { ValueDriver, checkValueOptions, type FleetDevice } from './values.js';
import type { ValueGeneratorOptions } from './generators.js';

export interface FleetOptions extends CredentialOptions {
  /** The LwM2M server's URI: coap://, coaps:// (DTLS-PSK), coap+tcp:// or coaps+tcp:// (TLS-PSK). */
  readonly server: string;
  /** How many devices. */
  readonly devices: number;
  /** The index of the first device in templates (default 0): fleets on several machines take disjoint ranges. */
  readonly firstIndex?: number;
  /** Devices made from these models with sensible values (see modelDevice); used when there is no factory. */
  readonly objects?: readonly ObjectDefinition[];
  /** The app's own objects for device `ctx.index` (instances of classes extending the generated bases). */
  readonly factory?: (ctx: DeviceContext) => readonly ObjectInstance[] | Promise<readonly ObjectInstance[]>;
  /** Devices started per second (default 0: as fast as the machine goes, a registration storm). */
  readonly rampPerSecond?: number;
  /**
   * At most this many devices opening their transport and sending their first Register at once: default 256, and 64
   * for coaps:// (libcoap's servers take at most 100 handshakes in progress, and node-dtls-client never resends a flight).
   */
  readonly maxConcurrentStarts?: number;
  /** Registration lifetime in seconds (default 300); Updates follow the runtime's default schedule unless `updateEverySeconds`. */
  readonly lifetime?: number;
  readonly updateEverySeconds?: number;
  /** Resources that change over time (and so notify their observers). */
  readonly values?: readonly ValueGeneratorOptions[];
  /** Source addresses for coap:// devices, taken in turn (e.g. 127.0.0.1 … 127.0.0.8 past the per-address port limit). */
  readonly localAddresses?: readonly string[];
  readonly coap?: CoapEndpointOptions;
  readonly stream?: StreamEndpointOptions;
  readonly handshakeTimeoutMs?: number;
  readonly retry?: RetryOptions;
  /** How long stop() waits for each De-register's answer (default 5 000 ms). */
  readonly closeTimeoutMs?: number;
}

/** What a fleet tells its watchers besides the counters. */
export interface FleetEvents {
  /** A device failed in a way the counters classify as `kind`; the message never holds a key. */
  'device-error': { readonly index: number; readonly endpointName: string; readonly kind: string; readonly error: Error };
  /** Every device has been started (its first Register attempt made). */
  ramped: FleetSnapshot;
}

interface Device extends FleetDevice, OpenedDevice {
  readonly endpointName: string;
  registered: boolean;
  ever: boolean;
  /** stop() has begun on it: a De-register cut short by closing the socket is counted once, as a timeout. */
  closing: boolean;
}

/** The kind an 'error' event of a device's client is counted under: the server refused, the transport failed, or app code threw. */
function errorKind(err: Error): string {
  const name = err.name;
  if (name === 'RegistrationError') return 'deregister refused';
  if (/^Coap|Dtls|Tls|Transport|Stream/.test(name)) return 'transport';
  return 'handler';
}

/** Checks a fleet's options without opening anything; throws FleetOptionError saying which option and what to change. */
export function checkFleetOptions(o: FleetOptions): { readonly uri: ServerUri; readonly credentials: (slot: number) => DeviceCredentials } {
  if (!Number.isInteger(o.devices) || o.devices < 1) throw new FleetOptionError('devices', `devices must be a whole number above 0, not ${o.devices}`);
  const first = o.firstIndex ?? 0;
  if (!Number.isInteger(first) || first < 0) throw new FleetOptionError('first-index', 'the first index must be a whole number, 0 or more');
  if (o.rampPerSecond !== undefined && !(o.rampPerSecond >= 0)) throw new FleetOptionError('ramp', 'the ramp-up rate must be 0 (no ramp) or devices per second above 0');
  const lifetime = o.lifetime ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 1) throw new FleetOptionError('lifetime', 'the lifetime must be a whole number of seconds above 0');
  if (o.updateEverySeconds !== undefined && !(o.updateEverySeconds > 0 && o.updateEverySeconds < lifetime)) {
    throw new FleetOptionError('update-every', `Updates must come more often than the lifetime (${lifetime} s) and above 0 s`);
  }
  let uri: ServerUri;
  try {
    uri = parseServerUri(o.server);
  } catch (err) {
    throw new FleetOptionError('server', `${(err as Error).message}: write e.g. coap://127.0.0.1:5683`);
  }
  for (const a of o.localAddresses ?? []) {
    if (!isIP(a)) throw new FleetOptionError('local-address', `local address "${a}" is not an IP address`);
  }
  if (o.localAddresses?.length && uri.scheme !== 'coap') {
    throw new FleetOptionError('local-address', `local addresses apply to coap:// devices only, not ${uri.scheme}://`);
  }
  if (!o.factory && !o.objects?.length) throw new FleetOptionError('objects', 'give the devices objects (model constants) or a factory');
  const files = openFileLimit();
  if (files !== undefined && o.devices + SPARE_FILES > files) {
    throw new FleetOptionError('devices', `${o.devices} devices need ${o.devices + SPARE_FILES} open files but this process may open ${files}: raise the limit (ulimit -n ${o.devices + SPARE_FILES}) or ask for fewer devices`);
  }
  const ports = ephemeralPortCount();
  const addresses = Math.max(1, o.localAddresses?.length ?? 0);
  if (uri.scheme !== 'coap+tcp' && uri.scheme !== 'coaps+tcp' && ports !== undefined && Math.ceil(o.devices / addresses) > ports) {
    throw new FleetOptionError('devices', `${o.devices} UDP devices on ${addresses} source address${addresses === 1 ? '' : 'es'} need more than the ${ports} ephemeral ports each has: add local addresses (e.g. --local-address 127.0.0.2) or ask for fewer devices`);
  }
  const credentials = credentialsFor(o, first, o.devices);
  const sample = credentials(0);
  try {
    checkServerTransport(o.server, { ...(sample.pskIdentity !== undefined ? { pskIdentity: sample.pskIdentity, pskKey: sample.pskKey! } : {}) });
  } catch (err) {
    const why = (err as Error).message;
    throw new FleetOptionError(uri.secure ? 'psk-key' : 'server', uri.secure ? `${why}: give --psk-key (and --psk-identity) or a --csv of credentials` : `${why}: leave the PSK options out, or use coaps://`);
  }
  checkValueOptions(o.values ?? [], o.objects);
  return { uri, credentials };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * DTLS handshakes in progress at once by default. libcoap's servers take at most 100 handshakes at a time
 * (COAP_DEFAULT_MAX_HANDSHAKE_SESSIONS) and drop the ClientHellos beyond, and node-dtls-client never resends a flight,
 * so a dropped handshake waits for its whole timeout: 128 at once against coap-rd-gnutls lost 80 of 2,000 devices
 * and took ten times as long as 96 at once.
 */
const DTLS_CONCURRENT_STARTS = 64;

/**
 * N devices in one process. `new Fleet(options)` checks everything (throws FleetOptionError); `start()` ramps the
 * devices up; `stop()` de-registers every device and closes its socket. A device whose handler throws answers 5.00
 * and is counted under errors["handler"]; nothing a device does stops the others.
 */
export class Fleet extends TypedEmitter<FleetEvents> {
  readonly options: FleetOptions;
  readonly stats: FleetStats;
  readonly #uri: ServerUri;
  readonly #credentials: (slot: number) => DeviceCredentials;
  readonly #devices: Device[] = [];
  readonly #values: ValueDriver;
  #server: Peer | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<FleetSnapshot> | undefined;
  readonly #meter: DeviceMeter;

  constructor(options: FleetOptions) {
    super();
    const { uri, credentials } = checkFleetOptions(options);
    this.options = options;
    this.#uri = uri;
    this.#credentials = credentials;
    this.stats = new FleetStats(options.devices);
    const stats = this.stats;
    this.#meter = { response: (ms) => stats.responseTimes.record(ms), notification: () => { stats.notifications++; } };
    this.#values = new ValueDriver(options.values ?? [], options.devices, this.#devices, (index, kind, error) => this.#deviceError(index, kind, error));
  }

  snapshot(): FleetSnapshot {
    return this.stats.snapshot();
  }

  /** Ramps every device up; resolves once each has made its first Register attempt (the counters say how it went). */
  start(): Promise<void> {
    return (this.#starting ??= this.#start());
  }

  /** Resolves once `share` (0..1) of the devices are registered, or false after `timeoutMs`. */
  async waitRegistered(share = 1, timeoutMs = 60_000): Promise<boolean> {
    const want = Math.ceil(share * this.options.devices);
    const until = performance.now() + timeoutMs;
    while (this.stats.registered < want) {
      if (performance.now() > until || this.#stopping) return false;
      await sleep(20);
    }
    return true;
  }

  async #start(): Promise<void> {
    if (this.#uri.scheme === 'coap') this.#server = await resolveServer(this.#uri);
    this.#values.start();
    const rate = this.options.rampPerSecond ?? 0;
    const limit = this.options.maxConcurrentStarts ?? (this.#uri.scheme === 'coaps' ? DTLS_CONCURRENT_STARTS : 256);
    const t0 = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let slot = 0; slot < this.options.devices && !this.#stopping; slot++) {
      if (rate > 0) {
        const dueMs = (slot / rate) * 1000 - (performance.now() - t0);
        if (dueMs > 1) await sleep(dueMs);
      }
      while (inFlight.size >= limit) await Promise.race(inFlight);
      if (this.#stopping) break;
      const p: Promise<void> = this.#startDevice(slot).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    this.emit('ramped', this.snapshot());
  }

  #deviceError(index: number, kind: string, error: Error): void {
    this.stats.error(kind);
    const endpointName = this.#credentials(index - (this.options.firstIndex ?? 0)).endpointName;
    this.emit('device-error', { index, endpointName, kind, error });
  }

  async #startDevice(slot: number): Promise<void> {
    const c = this.#credentials(slot);
    const index = (this.options.firstIndex ?? 0) + slot;
    const o = this.options;
    const settings: DeviceSettings = {
      lifetime: o.lifetime ?? 300,
      ...(o.updateEverySeconds !== undefined ? { updateEverySeconds: o.updateEverySeconds } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
      ...(o.coap ? { coap: o.coap } : {}),
      ...(o.stream ? { stream: o.stream } : {}),
      ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    };
    const ctx: DeviceContext = { index, endpointName: c.endpointName, binding: this.#uri.binding, lifetime: settings.lifetime };
    let instances: readonly ObjectInstance[];
    try {
      instances = o.factory ? await o.factory(ctx) : modelDevice(o.objects!, ctx, this.#values.paths);
      this.#values.seed(index, slot, instances);
    } catch (err) {
      this.#deviceError(index, 'factory', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const addresses = o.localAddresses;
    const localAddress = addresses?.length ? addresses[slot % addresses.length] : undefined;
    let opened: OpenedDevice;
    try {
      opened = await openDevice(o.server, this.#uri, this.#server, c, instances, settings, this.#meter, localAddress);
    } catch (err) {
      const kind = err instanceof ConnectError || (err as Error).name === 'ConnectError' ? 'connect' : 'factory';
      this.#deviceError(index, kind, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const device: Device = { index, endpointName: c.endpointName, ...opened, registered: false, ever: false, closing: false };
    this.#watch(device);
    this.#devices.push(device);
    this.stats.started++;
    if (this.#stopping) return;
    try {
      await opened.client.start();
    } catch (err) {
      this.#deviceError(index, 'start', err instanceof Error ? err : new Error(String(err)));
    }
  }

  #watch(d: Device): void {
    const s = this.stats;
    const c = d.client;
    const lost = (): void => {
      if (d.registered) s.registered--;
      d.registered = false;
    };
    c.on('registered', () => {
      s.registrations++;
      if (!d.registered) s.registered++;
      d.registered = true;
      if (!d.ever) s.firstRegistration();
      d.ever = true;
    });
    c.on('updated', () => { s.updates++; });
    c.on('deregistered', () => {
      s.deregistrations++;
      lost();
    });
    c.on('registration-failed', (e) => {
      lost();
      const why = e.code ?? (e.error.name === 'CoapTimeoutError' ? 'timeout' : 'transport');
      this.#deviceError(d.index, `${e.operation} ${why}`, e.error);
    });
    c.on('request', () => { s.requests++; });
    c.on('error', (err) => {
      if (!(d.closing && err.name === 'CoapClosedError')) this.#deviceError(d.index, errorKind(err), err);
    });
    d.recovery?.onReconnectError((err) => this.#deviceError(d.index, 'transport', err));
  }

  /**
   * Stops the ramp and the value generators, de-registers every device (at most closeTimeoutMs each, many at once)
   * and closes their sockets. Resolves with the final figures. Safe to call twice.
   */
  stop(): Promise<FleetSnapshot> {
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<FleetSnapshot> {
    this.#values.stop();
    await this.#starting?.catch(() => undefined);
    const timeoutMs = this.options.closeTimeoutMs ?? 5000;
    const limit = Math.max(1, this.options.maxConcurrentStarts ?? 256) * 4;
    let next = 0;
    const closeOne = async (d: Device): Promise<void> => {
      d.closing = true;
      if (await d.close(timeoutMs)) {
        this.#deviceError(d.index, 'deregister timeout', new Error(`${d.endpointName}: no answer to De-register within ${timeoutMs} ms`));
      }
    };
    const worker = async (): Promise<void> => {
      while (next < this.#devices.length) await closeOne(this.#devices[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(limit, this.#devices.length) }, worker));
    return this.snapshot();
  }
}

