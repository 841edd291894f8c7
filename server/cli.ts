// `lwm2m-gen server`: arguments, start of the LwM2M servers and the UI, one line of what is where, stop on a signal.
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { DtlsPskServer, TestLwm2mServer } from 'lwm2m-gen/testing';
import { createUdpTransport } from 'lwm2m-gen/runtime';
import { FirmwareJobs, watchTransfers } from './firmware.js';
import { ServerHub, type HubServer } from './hub.js';
import { UiServer } from './http.js';
import { loadModels, ModelLoadError, type ModelSet } from './models.js';

/** Where the CLI writes (tests capture it). */
export interface ServerIo {
  out(line: string): void;
  err(line: string): void;
}

/** One PSK a DTLS client may use. */
export interface PskEntry {
  readonly identity: string;
  readonly key: Uint8Array;
}

/** The parsed command line. */
export interface ServerArgs {
  readonly host: string;
  readonly port: number;
  readonly dtlsPort: number;
  readonly uiHost: string | undefined;
  readonly uiPort: number;
  readonly objects: readonly string[];
  readonly psks: readonly PskEntry[];
}

class UsageError extends Error {}

/** Parses `IDENTITY:HEXKEY`; the key never appears in a message. */
export function parsePsk(text: string): PskEntry {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new UsageError('--psk takes IDENTITY:HEXKEY');
  const hex = text.slice(i + 1);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError(`--psk for identity ${JSON.stringify(text.slice(0, i))}: the key must be an even number of hex digits`);
  return { identity: text.slice(0, i), key: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

function port(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new UsageError(`--${name} must be a port number 0..65535`);
  return v;
}

/** Parses the subcommand's arguments (after `server`); UsageError for anything wrong. */
export async function parseServerArgs(argv: readonly string[]): Promise<ServerArgs> {
  const a = await yargs([...argv])
    .scriptName('lwm2m-gen server')
    .usage('$0 [--port 5683] [--ui-port 8080] [--objects DDF...] [--psk IDENTITY:HEXKEY ...] [--ui-host HOST]')
    .option('port', { type: 'number', default: 5683, describe: 'UDP port of the LwM2M server (coap://)' })
    .option('dtls-port', { type: 'number', default: 5684, describe: 'DTLS-PSK port (coaps://), opened when --psk is given' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address the LwM2M ports bind' })
    .option('ui-port', { type: 'number', default: 8080, describe: 'port of the web UI' })
    .option('ui-host', { type: 'string', describe: 'serve the UI on this address instead of 127.0.0.1; then it needs the token printed at start' })
    .option('objects', { type: 'string', array: true, default: [] as string[], describe: 'DDF XML files or folders naming more objects' })
    .option('psk', { type: 'string', array: true, default: [] as string[], describe: 'IDENTITY:HEXKEY of a DTLS client (repeatable)' })
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'invalid arguments');
    })
    .parseAsync();
  return {
    host: a.host, port: port('port', a.port), dtlsPort: port('dtls-port', a['dtls-port']), uiHost: a['ui-host'],
    uiPort: port('ui-port', a['ui-port']), objects: a.objects, psks: a.psk.map(parsePsk),
  };
}

/** A running `lwm2m-gen server`. */
export interface RunningServer {
  readonly hub: ServerHub;
  readonly ui: UiServer;
  readonly firmware: FirmwareJobs;
  /** The URL to open (with ?token= when the UI needs one). */
  readonly pageUrl: string;
  close(): Promise<void>;
}

/** Starts the LwM2M servers (UDP; DTLS-PSK when there are keys) and the UI from parsed arguments. */
export async function startServer(args: ServerArgs, models: ModelSet, io?: ServerIo): Promise<RunningServer> {
  const servers: HubServer[] = [];
  const transfers = watchTransfers(await createUdpTransport({ address: args.host, port: args.port }));
  const udp = await TestLwm2mServer.start({ transport: transfers.transport });
  servers.push({ server: udp, transport: 'udp' });
  let dtls: DtlsPskServer | undefined;
  if (args.psks.length > 0) {
    dtls = await DtlsPskServer.start({ address: args.host, port: args.dtlsPort, psk: Object.fromEntries(args.psks.map((p) => [p.identity, p.key])) })
      .catch(async (err: unknown) => {
        await udp.close();
        throw err;
      });
    servers.push({ server: await TestLwm2mServer.start({ transport: dtls }), transport: 'dtls' });
  }
  const hub = new ServerHub(servers, models);
  const token = args.uiHost === undefined ? undefined : randomBytes(16).toString('hex');
  const firmware = new FirmwareJobs(hub, transfers);
  // The DTLS server lists refused handshakes (no key material in them); each new one is printed once.
  let reported = 0;
  const failures = dtls && setInterval(() => {
    for (const f of dtls.failures.slice(reported)) {
      io?.err(`lwm2m-gen server: DTLS handshake from ${f.peer.address}:${f.peer.port} refused${f.identity === undefined ? '' : ` (identity ${JSON.stringify(f.identity)})`}: ${f.reason}`);
    }
    reported = dtls.failures.length;
  }, 500);
  failures?.unref();
  let ui: UiServer;
  try {
    ui = await UiServer.start(hub, firmware, { host: args.uiHost ?? '127.0.0.1', port: args.uiPort, ...(token ? { token } : {}) });
  } catch (e) {
    clearInterval(failures);
    hub.close();
    await Promise.all(servers.map((s) => s.server.close()));
    throw e;
  }
  return {
    hub, ui, firmware, pageUrl: token ? `${ui.url()}?token=${token}` : ui.url(),
    close: async () => {
      clearInterval(failures);
      hub.close();
      await ui.close();
      await Promise.all(servers.map((s) => s.server.close()));
    },
  };
}

/** Runs `lwm2m-gen server` until SIGINT or SIGTERM; the exit code (2 usage, 1 bad objects or a port in use). */
export async function serverMain(argv: readonly string[], io: ServerIo, stop?: Promise<void>): Promise<number> {
  let args: ServerArgs;
  try {
    args = await parseServerArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`lwm2m-gen server: ${e.message}`);
    io.err('usage: lwm2m-gen server [--port 5683] [--dtls-port 5684] [--host 127.0.0.1] [--ui-port 8080] [--ui-host HOST] [--objects DDF...] [--psk IDENTITY:HEXKEY ...]');
    return 2;
  }
  let models: ModelSet;
  let running: RunningServer;
  try {
    models = loadModels(args.objects);
    running = await startServer(args, models, io);
  } catch (e) {
    if (e instanceof ModelLoadError) io.err(e.message);
    else io.err(`lwm2m-gen server: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const lwm2m = running.hub.servers.map((s) => s.server.uri().replace(/^coap:/, s.transport === 'dtls' ? 'coaps:' : 'coap:')).join(' and ');
  io.out(`lwm2m-gen server: LwM2M on ${lwm2m}, ${models.size} objects named; UI at ${running.pageUrl}`);
  await (stop ?? new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }));
  await running.close();
  return 0;
}
