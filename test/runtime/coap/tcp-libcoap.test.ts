// Interop with libcoap (Debian libcoap3-bin, GnuTLS build): coap+tcp:// and coaps+tcp:// (PSK and certificates), and its RD.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TlsError } from '../../../runtime/coap/stream-errors.js';
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import type { StreamCoapEndpoint } from '../../../runtime/coap/tcp.js';

const CERTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../support/certs');
const ANY = { address: '', port: 0 };
const PSK_KEY = 'libcoap-test-key-1';
const haveLibcoap = spawnSync('which', ['coap-server-gnutls']).status === 0;
const describeLibcoap = haveLibcoap ? describe : describe.skip;

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

/** Starts a libcoap binary on PORT (plain) and PORT+1 (secure), retrying with another port when it cannot bind. */
async function startLibcoap(binary: string, args: (port: number) => string[]): Promise<{ proc: ChildProcess; port: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
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
  }
  throw new Error(`${binary} did not start`);
}

function stop(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

describeLibcoap('RFC 8323 against coap-server-gnutls', () => {
  let server: { proc: ChildProcess; port: number };
  const open: StreamCoapEndpoint[] = [];
  beforeAll(async () => {
    server = await startLibcoap('coap-server-gnutls', (port) => [
      '-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY, '-h', 'hint', '-d', '10', '-X', '1152',
      '-c', path.join(CERTS, 'server.crt'), '-j', path.join(CERTS, 'server.key'),
    ]);
  });
  afterEach(async () => {
    for (const ep of open.splice(0)) await ep.close();
  });
  afterAll(async () => {
    await stop(server?.proc);
  });
  const track = (ep: StreamCoapEndpoint): StreamCoapEndpoint => (open.push(ep), ep);

  it('coap+tcp: reads its CSM, GETs /.well-known/core and gets Pong for Ping', async () => {
    const ep = track(await connectCoapEndpoint(`coap+tcp://127.0.0.1:${server.port}`));
    expect(ep.peerCapabilities).toEqual({ maxMessageSize: 1152, blockWise: true });
    const res = await ep.request(ANY, { method: 'GET', path: ['.well-known', 'core'] });
    expect(res.code).toBe('2.05');
    expect(res.contentFormat).toBe(40);
    expect(Buffer.from(res.payload).toString()).toContain('</time>');
    await expect(ep.ping()).resolves.toBeGreaterThanOrEqual(0);
  });

  it('coap+tcp: PUTs and GETs back 5000 bytes block-wise under its 1152-byte Max-Message-Size', async () => {
    const ep = track(await connectCoapEndpoint(`coap+tcp://127.0.0.1:${server.port}`));
    const body = Buffer.alloc(5000).map((_, i) => 0x41 + (i % 26));
    const put = await ep.request(ANY, { method: 'PUT', path: ['example_data'], contentFormat: 0, payload: body });
    expect(['2.01', '2.04']).toContain(put.code);
    const get = await ep.request(ANY, { method: 'GET', path: ['example_data'] });
    expect(get.code).toBe('2.05');
    expect(Buffer.from(get.payload).equals(body)).toBe(true);
  });

  it('coaps+tcp with PSK: GET /time', async () => {
    const ep = track(await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${server.port + 1}`, { pskIdentity: 'dev1', pskKey: Buffer.from(PSK_KEY) }));
    const res = await ep.request(ANY, { method: 'GET', path: ['time'] });
    expect(res.code).toBe('2.05');
    expect(res.payload.length).toBeGreaterThan(0);
  });

  it('coaps+tcp with a wrong PSK is refused with a TlsError that holds no key', async () => {
    const wrong = 'wrong-key-that-must-not-leak';
    const err = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${server.port + 1}`, { pskIdentity: 'dev1', pskKey: Buffer.from(wrong) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('handshake');
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message, stack: (err as Error).stack })).not.toContain(wrong);
    expect(JSON.stringify(err)).not.toContain(PSK_KEY);
  });

  it('coaps+tcp with certificates: trusted with the test CA, refused without it', async () => {
    const ca = (await import('node:fs')).readFileSync(path.join(CERTS, 'ca.crt'));
    const ep = track(await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${server.port + 1}`, { ca }));
    expect((await ep.request(ANY, { method: 'GET', path: ['time'] })).code).toBe('2.05');
    const err = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${server.port + 1}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('certificate');
    const wrongName = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${server.port + 1}`, { ca, servername: 'other.example' }).catch((e: unknown) => e);
    expect((wrongName as TlsError).failure).toBe('certificate');
  });
});

describeLibcoap('registration with coap-rd-gnutls over TLS-PSK', () => {
  let rd: { proc: ChildProcess; port: number };
  beforeAll(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY]);
  });
  afterAll(async () => {
    await stop(rd?.proc);
  });

  it('POST /rd?ep=… creates a registration that shows up in the directory', async () => {
    const ep = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${rd.port + 1}`, { pskIdentity: 'node-tls', pskKey: Buffer.from(PSK_KEY) });
    try {
      const res = await ep.request(ANY, {
        method: 'POST', path: ['rd'], query: ['ep=node-tls', 'lt=60'], contentFormat: 40, payload: Buffer.from('</3/0>,</1/0>'),
      });
      expect(res.code).toBe('2.01');
      expect(res.locationPath.length).toBeGreaterThan(0);
      const list = await ep.request(ANY, { method: 'GET', path: ['.well-known', 'core'] });
      expect(list.code).toBe('2.05');
      expect(Buffer.from(list.payload).toString()).toContain(res.locationPath.join('/'));
    } finally {
      await ep.close();
    }
  });
});
