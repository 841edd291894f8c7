// Starts and stops libcoap servers (Debian libcoap3-bin, GnuTLS build) on ephemeral loopback ports for interop tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

/** Whether the GnuTLS build of libcoap is installed; interop suites skip themselves without it. */
export const haveLibcoap = spawnSync('which', ['coap-server-gnutls']).status === 0;
/** `describe`, or `describe.skip` without libcoap; looked up at call time so benchmarks can import this file outside jest. */
export function describeLibcoap(name: string, fn: () => void): void {
  (haveLibcoap ? describe : describe.skip)(name, fn);
}

/** A port nothing listens on right now (TCP on 127.0.0.1; libcoap binds the same number for UDP). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface LibcoapProcess {
  readonly proc: ChildProcess;
  /** Plain port (UDP and TCP); the secure ones (DTLS, TLS) are port + 1. */
  readonly port: number;
}

/**
 * Starts a libcoap binary on PORT (plain) and PORT+1 (secure), retrying with another port when it cannot bind.
 * Its TCP listeners tell us when it is up (UDP has no handshake to probe). `fixedPort` restarts a server on the
 * port it had, for tests that need the peer to come back at the same address.
 */
export async function startLibcoap(binary: string, args: (port: number) => string[], fixedPort?: number): Promise<LibcoapProcess> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = fixedPort ?? (await freePort());
    if (port >= 65535) continue;
    const proc = spawn(binary, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    proc.once('exit', () => { exited = true; });
    proc.stderr?.resume();
    for (let i = 0; i < 100 && !exited; i++) {
      if ((await canConnect(port)) && (await canConnect(port + 1))) return { proc, port };
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill('SIGKILL');
    // Lets the killed process release a fixed port before the next attempt binds it.
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${binary} did not start`);
}

/** Stops a libcoap process (SIGTERM) and resolves once it has exited; a no-op for one already gone. */
export function stopLibcoap(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

/** What coap-client printed: the response code ("4.05"), or "2.xx" when it printed only a payload. */
export interface CoapClientAnswer {
  readonly code: string;
  readonly output: string;
}

/**
 * One request with libcoap's coap-client (notls build), bound to 127.0.0.1:`fromPort` so that a device takes it
 * for its server; it prints a payload on success and "x.yy Reason" for an error response. `-B 5` bounds a lost answer.
 */
export function coapClientFrom(fromPort: number, args: readonly string[]): Promise<CoapClientAnswer> {
  return new Promise((resolve, reject) => {
    const proc = spawn('coap-client-notls', ['-a', '127.0.0.1', '-p', String(fromPort), '-B', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
    proc.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
    proc.once('error', reject);
    proc.once('exit', () => {
      const code = /\b([245]\.\d\d)\b/.exec(output)?.[1] ?? '2.xx';
      resolve({ code, output: output.trim() });
    });
  });
}
