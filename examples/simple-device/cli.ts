// Command line of the simulated device: arguments to SimpleDeviceOptions, and the process lifecycle (signals, exit codes).
import yargs from 'yargs';
import { ContentFormat } from 'lwm2m-gen/runtime';
import { startSimpleDevice, SimpleDeviceError, type NotifyPresetName, type SimpleDeviceOptions } from './app.js';
import { startProvisionedDevice, type ProvisionedDeviceOptions } from './provisioned.js';
import { SendPathsError, parseSendPaths } from './send.js';

/** `--format` names and the Content-Format each announces (`ct=`) and answers multi-value Reads with. */
export const FORMATS: Readonly<Record<string, number>> = {
  tlv: ContentFormat.TLV,
  'senml-json': ContentFormat.SENML_JSON,
  'senml-cbor': ContentFormat.SENML_CBOR,
  'lwm2m-cbor': ContentFormat.LWM2M_CBOR,
  'lwm2m-json': ContentFormat.LWM2M_JSON,
};
const NOTIFY_PRESET_NAMES: readonly NotifyPresetName[] = ['spec', '2016'];

/** `--help`: the caller prints USAGE and exits 0. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/** A usage problem: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function hexKey(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) throw new UsageError('--psk-key must be an even number of hex digits');
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** What the command line asks for: a device on one server (`server`), or one provisioned by `bootstrap` and/or kept in `stateDir`. */
export type DeviceCliOptions = ProvisionedDeviceOptions;

/** Parses the device's arguments (without `node main.js`). Throws UsageError for anything wrong, HelpRequested for --help. */
export function parseArgs(argv: readonly string[]): DeviceCliOptions {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested();
  const parsed = yargs([...argv])
    .scriptName('npm run device --')
    .usage('$0 --server URI --endpoint NAME [options]')
    .option('server', { type: 'string', describe: 'coap://, coaps://, coap+tcp:// or coaps+tcp:// URI of the LwM2M server' })
    .option('bootstrap', { type: 'string', describe: 'coap:// or coaps:// URI of a Bootstrap-Server: the device is provisioned by it' })
    .option('state', { type: 'string', describe: 'folder where the device keeps /0, /1, its registrations, observations, Config values and firmware state across restarts' })
    .option('endpoint', { type: 'string', describe: 'Endpoint Client Name (the DeviceId with --connection-string)' })
    .option('port', { type: 'number', describe: 'local UDP port (coap://, coaps://); ephemeral by default' })
    .option('lifetime', { type: 'number', default: 300, describe: 'registration lifetime, seconds' })
    .option('psk-identity', { type: 'string', describe: 'PSK identity for coaps:// and coaps+tcp://' })
    .option('psk-key', { type: 'string', describe: 'PSK key as hex' })
    .option('connection-string', { type: 'string', describe: '"HostName=…;DeviceId=…;SharedAccessKey=…": register with a renewed SAS token' })
    .option('sas-ttl', { type: 'number', default: 3600, describe: 'SAS token lifetime, seconds' })
    .option('sas-renew-before', { type: 'number', default: 300, describe: 'renew the SAS token this many seconds before it expires' })
    .option('interval', { type: 'number', default: 10, describe: 'seconds between simulated battery and memory changes' })
    .option('format', { type: 'string', describe: 'preferred Content-Format: text is refused (it carries one value)' })
    .option('notify', { type: 'string', default: 'spec', describe: 'notification defaults: spec (pmin 0) or 2016 (pmin 300 s, pmax 6 h)' })
    .option('send', { type: 'string', describe: 'paths to Send (POST /dp), comma-separated, e.g. /3/0/9,/3/0/13: once after registering' })
    .option('send-interval', { type: 'number', describe: 'with --send: Send every S seconds (the first right after registering)' })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .help(false)
    .version(false)
    .parseSync();
  const int = (name: string, v: number | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
    return v;
  };
  if (parsed.server === undefined && parsed.bootstrap === undefined) throw new UsageError('give --server URI or --bootstrap URI');
  if (parsed.server !== undefined && parsed.bootstrap !== undefined) throw new UsageError('give --server or --bootstrap, not both: the bootstrap server names the servers');
  const options: { -readonly [K in keyof DeviceCliOptions]: DeviceCliOptions[K] } = {};
  if (parsed.server !== undefined) options.server = parsed.server;
  if (parsed.bootstrap !== undefined) options.bootstrap = parsed.bootstrap;
  if (parsed.state !== undefined) options.stateDir = parsed.state;
  if ((options.bootstrap !== undefined || options.stateDir !== undefined) && parsed['connection-string'] !== undefined) {
    throw new UsageError('--connection-string works with --server alone, not with --bootstrap or --state');
  }
  if (parsed.endpoint !== undefined) options.endpoint = parsed.endpoint;
  const port = int('port', parsed.port, 0, 65535);
  if (port !== undefined) options.localPort = port;
  options.lifetime = int('lifetime', parsed.lifetime, 1, 2 ** 31 - 1)!;
  if (parsed['psk-identity'] !== undefined) options.pskIdentity = parsed['psk-identity'];
  if (parsed['psk-key'] !== undefined) options.pskKey = hexKey(parsed['psk-key']);
  if (parsed['connection-string'] !== undefined) options.connectionString = parsed['connection-string'];
  options.sasTtlSeconds = int('sas-ttl', parsed['sas-ttl'], 60, 365 * 86400)!;
  options.sasRenewBeforeSeconds = int('sas-renew-before', parsed['sas-renew-before'], 0, options.sasTtlSeconds - 1)!;
  options.simulationIntervalMs = int('interval', parsed.interval, 1, 3600)! * 1000;
  if (parsed.format !== undefined) {
    if (parsed.format === 'text') {
      throw new UsageError('--format text cannot be announced: text/plain carries one value, a Read of an instance needs more');
    }
    const format = FORMATS[parsed.format];
    if (format === undefined) throw new UsageError(`--format must be one of text, ${Object.keys(FORMATS).join(', ')}`);
    options.preferredFormat = format;
  }
  if (!NOTIFY_PRESET_NAMES.includes(parsed.notify as NotifyPresetName)) {
    throw new UsageError(`--notify must be one of ${NOTIFY_PRESET_NAMES.join(', ')}`);
  }
  options.notifyPreset = parsed.notify as NotifyPresetName;
  if (parsed.send !== undefined) {
    try {
      options.sendPaths = parseSendPaths(parsed.send);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (parsed['send-interval'] !== undefined) {
    if (options.sendPaths === undefined) throw new UsageError('--send-interval needs --send PATHS');
    options.sendIntervalMs = int('send-interval', parsed['send-interval'], 1, 86400)! * 1000;
  }
  if (options.endpoint === undefined && options.connectionString === undefined) {
    throw new UsageError('give --endpoint NAME or --connection-string');
  }
  return options;
}

export const USAGE = `usage: npm run device -- --server coap://HOST:PORT --endpoint NAME [--port LOCALPORT] [--lifetime S]
       --bootstrap coap://HOST:PORT --endpoint NAME  provisioned by a Bootstrap-Server (--psk-identity/--psk-key apply to it)
       [--state DIR]  keep /0, /1, registrations, observations, Config values and the firmware state in DIR: a restart resumes them without bootstrap
       --server coaps://HOST:PORT | coap+tcp://HOST:PORT | coaps+tcp://HOST:PORT  --psk-identity ID --psk-key HEX
       --connection-string "HostName=…;DeviceId=…;SharedAccessKey=…" [--sas-ttl S] [--sas-renew-before S]
       [--interval S]  seconds between simulated battery/memory changes
       [--format tlv|senml-json|senml-cbor|lwm2m-cbor|lwm2m-json]  preferred Content-Format, announced as ct= (default senml-cbor)
       [--notify spec|2016]  notification defaults: the spec's (pmin 0, no pmax) or the 2016 library's (pmin 300 s, pmax 21600 s)
       [--send /3/0/9,/3/0/13 [--send-interval S]]  Send (POST /dp) these paths once after the first registration, or every S
                      seconds; SenML CBOR (SenML JSON with --format senml-json); a path the device lacks exits 2
       --help  this text`;

/**
 * Runs the device until SIGINT or SIGTERM, then de-registers and resolves with the exit code
 * (0 after a clean stop or --help, 1 when it could not start, 2 for a usage error).
 */
export async function runCli(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  let options: DeviceCliOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      log(USAGE);
      return 0;
    }
    log(`usage error: ${err instanceof Error ? err.message : String(err)}`);
    log(USAGE);
    return 2;
  }
  // Signals are taken from the start: the first Register may wait up to CoAP's 93 s for an answer.
  const abort = new AbortController();
  let device: { stop(): Promise<void>; registered(): boolean } | undefined;
  let stopping = false;
  let done: ((code: number) => void) | undefined;
  const finished = new Promise<number>((resolve) => { done = resolve; });
  const stop = (d: { stop(): Promise<void> }): void => {
    d.stop().then(() => {
      log('stopped');
      done!(0);
    }, (err: unknown) => {
      log(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
      done!(1);
    });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log(device?.registered()
      ? `${signal}: ${options.stateDir !== undefined ? 'stopping (the registration is kept in the state folder)' : 'de-registering'}`
      : `${signal}: not registered (yet), nothing to de-register; stopping`);
    abort.abort();
    if (device) stop(device);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (options.bootstrap !== undefined || options.stateDir !== undefined) {
      device = await startProvisionedDevice({ ...options, log, signal: abort.signal });
    } else {
      const simple = await startSimpleDevice({ ...options as SimpleDeviceOptions, log, signal: abort.signal });
      device = { stop: () => simple.stop(), registered: () => simple.client.state === 'registered' };
    }
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (err instanceof SendPathsError) {
      log(`usage error: ${err.message}`);
      return 2;
    }
    log(`failed to start: ${err instanceof SimpleDeviceError || err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  // A signal during the start has stopped the device already; stop() is then a no-op that still reports.
  if (stopping) stop(device);
  return finished;
}
