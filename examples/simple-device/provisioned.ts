// The simulated device provisioned by a bootstrap server and/or kept in a state folder: a DeviceClient with a line per bootstrap step and restored item.
import { join } from 'node:path';
import {
  DeviceClient, FileStateStore, FirmwareState, NOTIFY_PRESETS, systemClock, type PersistedFirmwareState, type SecurityAccountInput,
} from 'lwm2m-gen/runtime';
import { Config } from '../../generated/config.js';
import { formatLocation, type SimpleDeviceOptions } from './app.js';
import { DEFAULT_SETTINGS, SimConfig, SimDevice, SimFirmware, Ticker } from './objects.js';
import { SendLoop, checkSendPaths } from './send.js';

/** The options of a provisioned device: `bootstrap` (a bootstrap server URI) or `server` with a `stateDir`. */
export interface ProvisionedDeviceOptions extends Omit<SimpleDeviceOptions, 'server'> {
  /** The LwM2M Server's URI for factory bootstrap, when there is no bootstrap server. */
  readonly server?: string;
  /** coap:// or coaps:// URI of the Bootstrap-Server; the PSK options apply to it when given. */
  readonly bootstrap?: string;
  /** Folder of the state file (/0, /1, registrations, observations, Config values, firmware state) and the firmware package; nothing is kept without it. */
  readonly stateDir?: string;
}

export interface ProvisionedDevice {
  readonly device: DeviceClient;
  readonly endpointName: string;
  /** True while at least one server has the device registered. */
  registered(): boolean;
  /** Leaves the registrations at the servers when a state folder keeps them (a restart resumes them); else de-registers. */
  stop(): Promise<void>;
}

/** Starts the device on a DeviceClient: factory /0 from --bootstrap (or --server), the store in --state. */
export async function startProvisionedDevice(o: ProvisionedDeviceOptions): Promise<ProvisionedDevice> {
  const log = o.log ?? ((line: string) => console.log(line));
  const clock = o.clock ?? systemClock;
  const wallClock = o.wallClock ?? Date.now;
  const endpointName = o.endpoint;
  if (!endpointName) throw new Error('--endpoint is required with --bootstrap or --state');
  const server = o.server ?? '';
  if (!o.bootstrap && !server) throw new Error('give --bootstrap URI or --server URI');
  const psk = o.pskIdentity !== undefined && o.pskKey !== undefined ? { pskIdentity: o.pskIdentity, pskKey: o.pskKey } : {};
  const factory: SecurityAccountInput[] = o.bootstrap
    ? [{ uri: o.bootstrap, bootstrap: true, ...psk }]
    : [{ uri: server, shortServerId: 1, ...psk }];
  const device = new DeviceClient({
    endpointName,
    factory: { security: factory, ...(o.bootstrap ? {} : { servers: [{ shortServerId: 1, lifetime: o.lifetime ?? 300, binding: server.includes('+tcp') ? 'T' : 'U' }] }) },
    ...(o.stateDir ? { store: new FileStateStore(join(o.stateDir, 'state')) } : {}),
    persistValues: [Config.id],
    transport: {
      ...(o.coap ? { coap: o.coap } : {}), ...(o.stream ? { stream: o.stream } : {}),
      ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    },
    client: {
      ...(o.lwm2mVersion ? { lwm2mVersion: o.lwm2mVersion } : {}),
      ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
      ...(o.notifyPreset !== undefined ? { notifyPolicy: NOTIFY_PRESETS[o.notifyPreset] } : {}),
    },
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    wallClock,
  });

  const simulation = new Ticker(() => sim.simulate(), o.simulationIntervalMs ?? 10_000, clock);
  const restart = async (reason: string): Promise<void> => {
    log(`${reason}: restarting`);
    await device.stop();
    sim.resetSimulation();
    log('restarted');
    await device.start();
  };
  const sim = new SimDevice({
    clock, wallClock, serial: `SIM-${endpointName}`, binding: 'UT',
    onReboot: () => restart('reboot'),
    onFactoryReset: () => restart('factory reset'),
  });
  // With --state the firmware state is a section of the device's own store (one file, one atomic write), and the
  // package a file beside it, so a Downloaded package is still there to install after a restart.
  const firmwareState = o.stateDir ? (await device.openState())?.section<PersistedFirmwareState>('firmware') : undefined;
  const firmware = new SimFirmware({
    device: sim, log, onInstalled: () => restart('firmware update'),
    ...(o.stateDir && firmwareState ? { packageFile: join(o.stateDir, 'firmware.bin'), persist: firmwareState } : {}),
    ...(o.firmwareDownload ? { download: o.firmwareDownload } : {}),
  });
  const settings = new Map<string, string>(Object.entries(DEFAULT_SETTINGS));
  const newConfig = (instanceId: number): SimConfig => new SimConfig({
    settings,
    onApplied: ({ name, value }) => {
      log(`config applied ${name}=${value}`);
      if (name === 'telemetryInterval') simulation.period = Number(value) * 1000;
    },
    onApplyFailed: ({ name, code, error }) => log(`config apply failed for ${name} (${code}): ${error.message}`),
  }, instanceId);
  device.addInstance(sim).addInstance(firmware).addObject(Config, { create: (id) => newConfig(id) }).addInstance(newConfig(0));
  if (o.sendPaths !== undefined) checkSendPaths(device.registry, o.sendPaths);
  const sending = o.sendPaths === undefined ? undefined : new SendLoop({
    paths: o.sendPaths, clock, log, send: (paths, options) => device.send(paths, options),
    ...(o.sendIntervalMs !== undefined ? { intervalMs: o.sendIntervalMs } : {}),
    ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
  });
  device.on('registered', () => sending?.registered());

  // One line per bootstrap step and per restored item; none holds a key (the runtime's events carry none).
  device.on('bootstrap', (s) => {
    switch (s.step) {
      case 'hold-off': log(`bootstrap: waiting the Client Hold Off Time, ${s.seconds} s`); break;
      case 'request': log(`bootstrap: Bootstrap-Request to ${s.uri} (attempt ${s.attempt})`); break;
      case 'retry': log(`bootstrap: attempt ${s.attempt} failed (${s.reason}); retry in ${Math.round(s.retryInMs / 1000)} s`); break;
      case 'done': log('bootstrap: finished'); break;
      case 'failed': log(`bootstrap: gave up (${s.reason})`); break;
      case 'account-removed': log(`bootstrap: Bootstrap-Server account ${s.path} removed (its Account Timeout of ${s.seconds} s ran out)`); break;
      default: log(`bootstrap: ${s.step} ${s.path} -> ${s.code}`);
    }
  });
  device.on('restored', (r) => log(`restored ${r.item} ${r.detail}`));
  device.on('observations-ended', (e) => log(`not resumed: observation${e.paths.length > 1 ? 's' : ''} ${e.paths.join(', ')} of server ${e.shortServerId} (${e.reason})`));
  device.on('state-problem', (p) => log(`state not restored: ${p.message}${p.quarantinedTo ? ` (moved to ${p.quarantinedTo})` : ''}; using the factory configuration`));
  device.on('error', (e) => log(`error: ${e.message}`));
  device.on('server', ({ shortServerId, uri, client }) => {
    log(`server ${shortServerId}: ${uri}`);
    client.on('registered', (e) => log(`registered as ${endpointName} at ${formatLocation(e.location)} (lifetime ${e.lifetime} s, ${uri})`));
    client.on('updated', (e) => log(`updated ${formatLocation(e.location)}${e.links ? ' with new object links' : ''} (${uri})`));
    client.on('deregistered', (e) => log(`deregistered from ${formatLocation(e.location)} (${e.reason})`));
    client.on('registration-failed', (e) => log(`${e.operation} failed${e.code ? ` with ${e.code}` : ''}: ${e.error.message}${e.retryInMs >= 0 ? `; retry in ${Math.round(e.retryInMs / 1000)} s` : '; falling back to bootstrap'}`));
    client.on('request', (e) => log(`${e.method} ${e.uriPath} -> ${e.code}`));
  });

  await firmware.updater.ready;
  const keptFirmware = firmwareState?.load();
  if (keptFirmware) log(`restored firmware state ${stateName(keptFirmware.state)}${keptFirmware.pkgVersion ? ` (package ${keptFirmware.pkgVersion})` : ''}, now ${stateName(firmware.updater.state)}`);
  log(`starting ${endpointName}: ${o.bootstrap ? `bootstrap from ${o.bootstrap}` : `server ${server}`}${o.stateDir ? `, state in ${o.stateDir}` : ''}`);
  simulation.start();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    simulation.stop();
    sending?.stop();
    sim.behaviour.dispose();
    await device.stop();
  })());
  o.signal?.addEventListener('abort', () => void stop(), { once: true });
  try {
    await device.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    device, endpointName, stop,
    registered: () => [...device.clients().values()].some((c) => c.state === 'registered'),
  };
}

function stateName(state: number): string {
  return Object.entries(FirmwareState).find(([, v]) => v === state)?.[0] ?? String(state);
}
