// coaps+tcp:// flows against our own Node TLS servers (PSK and certificates), and the length-prefixed TLS framing.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createCoapEndpoint } from '../../../runtime/coap/endpoint.js';
import { TlsError } from '../../../runtime/coap/stream-errors.js';
import { connectLengthPrefixedTransport, LengthPrefixedTransport } from '../../../runtime/coap/stream-datagram.js';
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import { StreamCoapEndpoint } from '../../../runtime/coap/tcp.js';
import type { CoapEndpoint, IncomingRequest } from '../../../runtime/coap/types.js';

const CERTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../support/certs');
const cert = (name: string): Buffer => readFileSync(path.join(CERTS, name));
const ANY = { address: '', port: 0 };
const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

interface Running {
  port: number;
  accepted: Promise<tls.TLSSocket>;
  close(): Promise<void>;
}

async function tlsServer(options: tls.TlsOptions): Promise<Running> {
  const sockets = new Set<tls.TLSSocket>();
  let onAccept!: (s: tls.TLSSocket) => void;
  const accepted = new Promise<tls.TLSSocket>((r) => { onAccept = r; });
  const server = tls.createServer(options, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onAccept(s);
  });
  // Failed handshakes surface here; the client-side assertions cover them.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    accepted,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

const pskServerOptions: tls.TlsOptions = {
  pskCallback: (_socket, identity) => (identity === 'urn:dev:1' ? KEY : null),
  pskIdentityHint: 'lwm2m',
  ciphers: 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256',
  maxVersion: 'TLSv1.2',
};

describe('coaps+tcp against a Node TLS server', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('PSK: the client registers, then the server observes the client and gets a notification on the same connection', async () => {
    const srv = await tlsServer(pskServerOptions);
    cleanups.push(() => srv.close());
    // The client waits for the server's CSM, so the server side must be set up while the client connects.
    const connecting = connectCoapEndpoint(`coaps+tcp://127.0.0.1:${srv.port}`, { pskIdentity: 'urn:dev:1', pskKey: KEY });
    const server = new StreamCoapEndpoint(await srv.accepted);
    const client = await connecting;
    cleanups.push(() => client.close());
    await server.ready;
    const registrations: IncomingRequest[] = [];
    server.serve((req) => {
      registrations.push(req);
      return { code: '2.01', locationPath: ['rd', '5a3f'] };
    });
    let observeToken: Uint8Array | undefined;
    client.serve((req) => {
      observeToken = req.token;
      return { code: '2.05', contentFormat: 0, observe: 0, payload: Buffer.from('42') };
    });
    const reg = await client.request(ANY, { method: 'POST', path: ['rd'], query: ['ep=urn:dev:1', 'b=T'], payload: Buffer.from('</3/0>') });
    expect(reg.code).toBe('2.01');
    expect(reg.locationPath).toEqual(['rd', '5a3f']);
    expect(registrations[0]!.query).toEqual(['ep=urn:dev:1', 'b=T']);

    const obs = await server.request(server.remote(), { method: 'GET', path: ['3', '0', '9'], observe: 0 });
    expect(obs.observe).toBe(0);
    expect(Buffer.from(obs.payload).toString()).toBe('42');
    expect(await client.notify(client.remote(), observeToken!, { code: '2.05', observe: 1, contentFormat: 0, payload: Buffer.from('41') }, true)).toBe('sent');
  });

  it('PSK: an unknown identity or a wrong key is refused with a TlsError that carries neither key', async () => {
    const srv = await tlsServer(pskServerOptions);
    cleanups.push(() => srv.close());
    const wrongKey = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex');
    for (const opts of [{ pskIdentity: 'urn:dev:1', pskKey: wrongKey }, { pskIdentity: 'urn:dev:unknown', pskKey: KEY }]) {
      const err = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${srv.port}`, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TlsError);
      expect((err as TlsError).failure).toBe('handshake');
      const dump = inspect(err, { depth: 5 }) + String((err as Error).stack);
      for (const k of [KEY, wrongKey]) {
        expect(dump).not.toContain(k.toString('hex'));
        expect(dump).not.toContain(k.toString('base64'));
      }
    }
  });

  it('certificates: verified against the given CA; an untrusted server is refused unless verification is turned off', async () => {
    const good = await tlsServer({ cert: cert('server.crt'), key: cert('server.key') });
    cleanups.push(() => good.close());
    const connecting = connectCoapEndpoint(`coaps+tcp://localhost:${good.port}`, { ca: cert('ca.crt') });
    const server = new StreamCoapEndpoint(await good.accepted);
    const ep = await connecting;
    cleanups.push(() => ep.close());
    cleanups.push(() => server.close());
    server.serve(() => ({ code: '2.05', payload: Buffer.from('ok') }));
    expect(Buffer.from((await ep.request(ANY, { method: 'GET', path: ['x'] })).payload).toString()).toBe('ok');

    const bad = await tlsServer({ cert: cert('untrusted.crt'), key: cert('untrusted.key') });
    cleanups.push(() => bad.close());
    const err = await connectCoapEndpoint(`coaps+tcp://127.0.0.1:${bad.port}`, { ca: cert('ca.crt') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('certificate');
    expect((err as TlsError).detail).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // Opting out is explicit; the connection then opens (and the CSM exchange completes).
    const insecure = connectCoapEndpoint(`coaps+tcp://127.0.0.1:${bad.port}`, { rejectUnauthorized: false, waitForCsm: false });
    const ep2 = await insecure;
    cleanups.push(() => ep2.close());
    expect(ep2.closed).toBe(false);
  });
});

describe('length-prefixed RFC 7252 over TLS (2016 Azure DM preview framing)', () => {
  it('runs the UDP message layer over the stream, both directions', async () => {
    const srv = await tlsServer({ cert: cert('server.crt'), key: cert('server.key') });
    let clientEp: CoapEndpoint | undefined;
    let serverEp: CoapEndpoint | undefined;
    try {
      const transport = await connectLengthPrefixedTransport({ host: '127.0.0.1', port: srv.port, ca: cert('ca.crt') });
      const serverSocket = await srv.accepted;
      // Observe the raw bytes: every write must be a 2-byte big-endian length followed by that many bytes.
      const raw: Buffer[] = [];
      serverSocket.on('data', (d: Buffer) => raw.push(d));
      const serverTransport = new LengthPrefixedTransport(serverSocket);
      serverEp = createCoapEndpoint(serverTransport);
      clientEp = createCoapEndpoint(transport);
      serverEp.serve((req) => ({ code: '2.05', payload: Buffer.from(`you asked for /${req.path.join('/')}`) }));
      clientEp.serve(() => ({ code: '2.04' }));
      const res = await clientEp.request(transport.remote(), { method: 'GET', path: ['3', '0'] });
      expect(Buffer.from(res.payload).toString()).toBe('you asked for /3/0');
      const back = await serverEp.request(serverTransport.remote(), { method: 'PUT', path: ['1', '0', '1'], payload: Buffer.from('300') });
      expect(back.code).toBe('2.04');
      const bytes = Buffer.concat(raw);
      const len = bytes.readUInt16BE(0);
      expect(bytes[2]! >> 6).toBe(1); // CoAP version 1 right after the prefix
      expect(bytes.length).toBeGreaterThanOrEqual(2 + len);
    } finally {
      await clientEp?.close();
      await serverEp?.close();
      await srv.close();
    }
  });
});
