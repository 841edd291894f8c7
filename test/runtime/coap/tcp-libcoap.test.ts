// Interop with libcoap (Debian libcoap3-bin, GnuTLS build): coap+tcp:// and coaps+tcp:// (PSK and certificates), and its RD.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TlsError } from '../../../runtime/coap/stream-errors.js';
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import type { StreamCoapEndpoint } from '../../../runtime/coap/tcp.js';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../../support/libcoap.js';

const CERTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../support/certs');
const ANY = { address: '', port: 0 };
const PSK_KEY = 'libcoap-test-key-1';
describeLibcoap('RFC 8323 against coap-server-gnutls', () => {
  let server: LibcoapProcess;
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
    await stopLibcoap(server?.proc);
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
  let rd: LibcoapProcess;
  beforeAll(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY]);
  });
  afterAll(async () => {
    await stopLibcoap(rd?.proc);
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
