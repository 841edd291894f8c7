// Starts libcoap servers (Debian libcoap3-bin, GnuTLS build) on ephemeral loopback ports for the example's interop tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export const haveLibcoap = spawnSync('which', ['coap-rd-gnutls']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface LibcoapServer {
  readonly proc: ChildProcess;
  /** Plain port (UDP and TCP); the secure ones (DTLS, TLS) are port + 1. */
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a libcoap binary on PORT (plain) and PORT+1 (secure), retrying with another port when it cannot bind. */
export async function startLibcoap(binary: string, args: (port: number) => string[]): Promise<LibcoapServer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    if (port >= 65535) continue;
    const proc = spawn(binary, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    proc.once('exit', () => { exited = true; });
    proc.stderr?.resume();
    for (let i = 0; i < 100 && !exited; i++) {
      // The TCP listeners come up with the UDP ones; they are the ones a probe can see.
      if ((await canConnect(port)) && (await canConnect(port + 1))) {
        return {
          proc, port,
          stop: () => new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once('exit', () => resolve());
            proc.kill('SIGTERM');
          }),
        };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill('SIGKILL');
  }
  throw new Error(`${binary} did not start`);
}
