// `lwm2m-gen fleet`: runs a fleet from the command line with a live view, a JSON summary, target checks and SIGINT handling.
import yargs from 'yargs';
import { FleetOptionError } from './credentials.js';
import { defaultObjects } from './default-objects.js';
import { Fleet, type FleetOptions } from './fleet.js';
import { loadObjects } from './load-objects.js';
import type { GeneratorSpec, ValueGeneratorOptions } from './generators.js';
import type { FleetSnapshot } from './stats.js';
import { LiveView, type ViewOutput } from './view.js';

/** Where the CLI writes and what stops it; tests give their own. */
export interface FleetCliIo {
  readonly stdout: ViewOutput;
  readonly stderr: ViewOutput;
  /** Calls `stop` on SIGINT/SIGTERM (once); returns a function that removes the handlers. */
  onInterrupt(stop: () => void): () => void;
}

const processIo: FleetCliIo = {
  stdout: { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true, columns: process.stdout.columns },
  stderr: { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true, columns: process.stderr.columns },
  onInterrupt(stop) {
    let count = 0;
    const handler = (): void => {
      // A second Ctrl-C does not wait for the De-registers.
      if (++count > 1) process.exit(130);
      stop();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

class UsageError extends Error {}

const NUMBER_PARAMS: Record<string, readonly string[]> = {
  constant: [], 'random-walk': ['min', 'max', 'step', 'start'], sine: ['min', 'max', 'period'], replay: [],
};

/**
 * One `--value PATH:KIND[:k=v,…]`: `3/0/9:random-walk:min=0,max=100,step=5,every=2`, `3/0/7:sine:min=3000,max=4000,period=60`,
 * `3/0/9:replay:file=levels.csv,column=level`, `3/0/17:constant:value=sim`. `every` (seconds, default 1) is common to all.
 */
export function parseValueOption(text: string): ValueGeneratorOptions {
  const [path, kind, params = ''] = text.split(':');
  if (!path || !kind || !(kind in NUMBER_PARAMS)) {
    throw new UsageError(`--value ${text}: write PATH:KIND[:k=v,...] with KIND constant, random-walk, sine or replay (e.g. 3/0/9:random-walk:min=0,max=100,step=5)`);
  }
  const p = new Map<string, string>();
  for (const item of params.split(',').filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new UsageError(`--value ${text}: "${item}" is not k=v`);
    p.set(item.slice(0, eq), item.slice(eq + 1));
  }
  const num = (k: string, fallback?: number): number => {
    const v = p.get(k);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined || v === '' || !Number.isFinite(Number(v))) throw new UsageError(`--value ${text}: ${k} must be a number`);
    return Number(v);
  };
  const allowed = new Set([...NUMBER_PARAMS[kind]!, 'every', ...(kind === 'constant' ? ['value'] : kind === 'replay' ? ['file', 'column'] : [])]);
  for (const k of p.keys()) if (!allowed.has(k)) throw new UsageError(`--value ${text}: ${kind} takes ${[...allowed].join(', ')}, not ${k}`);
  let generator: GeneratorSpec;
  switch (kind) {
    case 'constant': {
      const v = p.get('value');
      if (v === undefined) throw new UsageError(`--value ${text}: constant needs value=`);
      generator = { kind, value: v !== '' && Number.isFinite(Number(v)) ? Number(v) : v };
      break;
    }
    case 'random-walk':
      generator = { kind, min: num('min'), max: num('max'), step: num('step'), ...(p.has('start') ? { start: num('start') } : {}) };
      break;
    case 'sine':
      generator = { kind, min: num('min'), max: num('max'), periodSeconds: num('period') };
      break;
    default: {
      const file = p.get('file');
      if (!file) throw new UsageError(`--value ${text}: replay needs file=`);
      const column = p.get('column');
      generator = { kind: 'replay', file, ...(column !== undefined ? { column: /^\d+$/.test(column) ? Number(column) : column } : {}) };
    }
  }
  return { path, everySeconds: num('every', 1), generator };
}

function summaryLines(s: FleetSnapshot, expect: number | undefined, met: boolean): string[] {
  const p = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)} ms`);
  const errors = Object.entries(s.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const lines = [
    `lwm2m-gen fleet: ${s.everRegistered}/${s.target} devices registered, ${s.registrations} registrations, ${s.updates} updates, ${s.deregistrations} de-registered`,
    `  ${s.requests} requests served, ${s.notifications} notifications, response p50 ${p(s.responseTime.p50)} p99 ${p(s.responseTime.p99)}, errors: ${errors}`,
  ];
  if (s.allRegisteredMs !== undefined) lines.push(`  all ${s.target} registered after ${(s.allRegisteredMs / 1000).toFixed(2)} s`);
  if (expect !== undefined) lines.push(`  target: ${Math.round(expect * 100)} % registered: ${met ? 'met' : 'missed'}`);
  return lines;
}

/** Runs `lwm2m-gen fleet ARGS`; resolves with the exit code (0 ok, 1 a target missed, 2 bad input). */
export async function fleetMain(argv: readonly string[], io: FleetCliIo = processIo): Promise<number> {
  const parser = yargs([...argv])
    .scriptName('lwm2m-gen fleet')
    .usage('$0 --server URI --devices N [options]')
    .epilogue('Runs N simulated LwM2M devices in this process until Ctrl-C (or --duration), then de-registers them. Exit codes: 0 ok, 1 --expect-registered missed, 2 bad options.')
    .option('server', { type: 'string', demandOption: true, describe: 'LwM2M server URI: coap://, coaps://, coap+tcp:// or coaps+tcp://' })
    .option('devices', { alias: 'n', type: 'number', demandOption: true, describe: 'How many devices' })
    .option('endpoint', { type: 'string', default: 'dev-{i}', describe: 'Endpoint name template: {i}, {i:WIDTH} zero-padded, {x:WIDTH} hex' })
    .option('first-index', { type: 'number', default: 0, describe: 'Index of the first device (fleets on several machines take disjoint ranges)' })
    .option('psk-identity', { type: 'string', describe: 'PSK identity template (default {ep}, the endpoint name)' })
    .option('psk-key', { type: 'string', describe: 'PSK key template, hex after expansion (e.g. 00112233{x:8})' })
    .option('csv', { type: 'string', describe: 'Credentials file: endpoint,identity,key per line' })
    .option('ramp', { type: 'number', default: 0, describe: 'Devices started per second (0: all at once)' })
    .option('lifetime', { type: 'number', default: 300, describe: 'Registration lifetime in seconds' })
    .option('update-every', { type: 'number', describe: 'Send an Update this often (seconds) instead of before the lifetime ends' })
    .option('objects', { type: 'string', describe: 'A module exporting generated object models (default: Device; the client adds its own Server object)' })
    .option('value', { type: 'string', array: true, describe: 'PATH:KIND[:k=v,...] value generator (constant, random-walk, sine, replay)' })
    .option('local-address', { type: 'string', array: true, describe: 'Source address for coap:// devices (repeat to pass the ports one address has)' })
    .option('duration', { type: 'number', describe: 'Stop after this many seconds (default: run until SIGINT)' })
    .option('expect-registered', { type: 'number', describe: 'Exit 1 unless this share (0..1) of the devices was registered when the run ended' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON on stdout (the live view goes to stderr)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No live view' })
    .example('$0 --server coap://127.0.0.1:5683 --devices 2000', '2000 devices dev-0 … dev-1999 until Ctrl-C')
    .example('$0 --server coaps://host:5684 -n 100 --psk-key 000102030405060708090a0b0c0d{x:4}', 'DTLS-PSK, a key per device')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .wrap(Math.min(110, io.stderr.columns ?? 100))
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'invalid arguments');
    });
  const err = (line: string): void => io.stderr.write(`${line}\n`);
  let args: Awaited<ReturnType<typeof parser.parseAsync>>;
  let printed = '';
  try {
    args = await parser.parseAsync([...argv], {}, (_e, _a, output) => { printed = output; });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`lwm2m-gen fleet: ${e.message}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(`${printed}\n`);
    return 0;
  }
  const expect = args['expect-registered'];
  let options: FleetOptions;
  let fleet: Fleet;
  try {
    if (expect !== undefined && !(expect >= 0 && expect <= 1)) throw new UsageError(`--expect-registered ${expect}: give a share from 0 to 1, e.g. 0.99`);
    if (args.duration !== undefined && !(args.duration > 0)) throw new UsageError('--duration must be above 0 seconds');
    options = {
      server: args.server, devices: args.devices, endpoint: args.endpoint, firstIndex: args['first-index'],
      ...(args['psk-identity'] !== undefined ? { pskIdentity: args['psk-identity'] } : {}),
      ...(args['psk-key'] !== undefined ? { pskKey: args['psk-key'] } : {}),
      ...(args.csv !== undefined ? { csv: args.csv } : {}),
      rampPerSecond: args.ramp, lifetime: args.lifetime,
      ...(args['update-every'] !== undefined ? { updateEverySeconds: args['update-every'] } : {}),
      objects: args.objects !== undefined ? await loadObjects(args.objects) : defaultObjects,
      values: (args.value ?? []).map(parseValueOption),
      ...(args['local-address'] ? { localAddresses: args['local-address'] } : {}),
    };
    fleet = new Fleet(options);
  } catch (e) {
    if (e instanceof FleetOptionError) {
      err(`lwm2m-gen fleet: --${e.option}: ${e.message}`);
      return 2;
    }
    if (e instanceof UsageError) {
      err(`lwm2m-gen fleet: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const viewOut = args.json ? io.stderr : io.stdout;
  const view = args.quiet ? undefined : new LiveView(viewOut, `lwm2m-gen fleet: ${options.devices} devices on ${new URL(options.server).protocol}// (Ctrl-C stops and de-registers)`, () => fleet.snapshot());
  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => { stopRequested = r; });
  const offInterrupt = io.onInterrupt(() => stopRequested());
  const timer = args.duration !== undefined ? setTimeout(() => stopRequested(), args.duration * 1000) : undefined;
  view?.start();
  view?.draw();
  const ramp = fleet.start().then(() => { if (view) view.ramping = false; });
  await Promise.race([stopped, ramp.then(() => stopped)]);
  clearTimeout(timer);
  const atEnd = fleet.snapshot();
  view?.note(`lwm2m-gen fleet: stopping, de-registering ${atEnd.registered} devices`);
  const final = await fleet.stop();
  offInterrupt();
  view?.stop();
  const met = expect === undefined || atEnd.registered >= Math.ceil(expect * atEnd.target);
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ...final, registeredAtEnd: atEnd.registered, ...(expect !== undefined ? { expectRegistered: expect, met } : {}) }, null, 2)}\n`);
  } else {
    for (const l of summaryLines(final, expect, met)) io.stdout.write(`${l}\n`);
  }
  return met ? 0 : 1;
}
