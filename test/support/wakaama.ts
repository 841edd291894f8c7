// Eclipse Wakaama's example bootstrap server (built by scripts/wakaama.mjs) started for a test on 127.0.0.1 with a bootstrap information file.
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A [Server] section of Wakaama's bootstrap_server.ini: one LwM2M Server account (/0 and /1 instance `id`). */
export interface WakaamaServerAccount {
  readonly id: number;
  readonly uri: string;
  readonly lifetime: number;
  /** PSK security (hex identity and key), NoSec without. */
  readonly psk?: { readonly identity: Uint8Array; readonly key: Uint8Array };
}

export interface RunningWakaama {
  readonly port: number;
  readonly child: Child;
  /** How many Bootstrap-Requests it has answered for the endpoint so far. */
  requests(endpointName: string): number;
  stop(): Promise<void>;
}

/** The path of the built server; builds it on first use (about 10 s: npm pack, cmake, cc). */
export function wakaamaBootstrapServer(): string {
  return execFileSync(process.execPath, [join(ROOT, 'scripts/wakaama.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A UDP port free on every IPv4 address, as the server binds it (one free on 127.0.0.1 alone may be taken on 127.0.0.2). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Writes the information file into `dir` (every account, then one [Endpoint] that deletes / and writes them all) and starts the server. */
export async function startWakaamaBootstrap(dir: string, endpointName: string, accounts: readonly WakaamaServerAccount[]): Promise<RunningWakaama> {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const sections = accounts.map((a) => [
    '[Server]', `id=${a.id}`, `uri=${a.uri}`, 'bootstrap=no', `lifetime=${a.lifetime}`,
    ...(a.psk ? ['security=PSK', `public=${hex(a.psk.identity)}`, `secret=${hex(a.psk.key)}`] : ['security=NoSec']),
  ].join('\n'));
  const file = join(dir, 'bootstrap_server.ini');
  writeFileSync(file, [...sections, ['[Endpoint]', `Name=${endpointName}`, 'Delete=/', ...accounts.map((a) => `Server=${a.id}`)].join('\n')].join('\n\n') + '\n');
  const binary = wakaamaBootstrapServer();
  for (let attempt = 1; ; attempt++) {
    // A free port found here may be taken by another test before the server binds it (it binds 0.0.0.0): try another.
    const port = await freeUdpPort();
    // It reads commands from stdin: an open pipe keeps it waiting (at end of file it would spin). Its stdout is a
    // pipe here, which C buffers whole: stdbuf makes it line-buffered, so each line is seen when printed.
    const child = startChild('stdbuf', ['-oL', binary, '-4', '-l', String(port), '-f', file], dir, { stdin: true });
    const started = await Promise.race([
      child.line(/Bootstrap Server now listening on port/).then(() => true, () => false),
      child.exit.then(() => false),
    ]);
    if (started) return running(port, child);
    await child.kill();
    if (attempt === 5) throw new Error(`Wakaama's bootstrap server did not start:\n${child.lines.join('\n')}`);
  }
}

function running(port: number, child: Child): RunningWakaama {
  return {
    port, child,
    requests: (name) => child.lines.filter((l) => l.includes(`Bootstrap request from "${name}"`)).length,
    async stop() {
      await child.stop();
    },
  };
}
