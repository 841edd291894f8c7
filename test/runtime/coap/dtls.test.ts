// coaps:// (DTLS 1.2 PSK, CCM_8) against libcoap's coap-server and coap-rd, with the UDP message layer on top.
import { inspect } from 'node:util';
import { DtlsError, createDtlsTransport } from '../../../runtime/coap/dtls.js';
import { createCoapEndpoint } from '../../../runtime/coap/endpoint.js';
import { CoapTimeoutError } from '../../../runtime/coap/errors.js';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../../support/libcoap.js';

const PSK_KEY = 'libcoap-dtls-key-1';
const serverArgs = (port: number): string[] => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY, '-h', 'hint'];

describeLibcoap('DTLS-PSK against coap-server-gnutls', () => {
  let server: LibcoapProcess | undefined;
  beforeAll(async () => {
    server = await startLibcoap('coap-server-gnutls', serverArgs);
  });
  afterAll(async () => {
    await stopLibcoap(server?.proc);
  });

  it('handshakes with TLS_PSK_WITH_AES_128_CCM_8 and carries the UDP layer: GET /time and /.well-known/core', async () => {
    const transport = await createDtlsTransport({ host: '127.0.0.1', port: server!.port + 1, pskIdentity: 'dev-dtls', pskKey: Buffer.from(PSK_KEY), timeoutMs: 3000 });
    const ep = createCoapEndpoint(transport);
    try {
      expect(transport.connected).toBe(true);
      expect(transport.address().port).toBeGreaterThan(0);
      const time = await ep.request(transport.remote, { method: 'GET', path: ['time'] });
      expect(time.code).toBe('2.05');
      const core = await ep.request(transport.remote, { method: 'GET', path: ['.well-known', 'core'] });
      expect(Buffer.from(core.payload).toString()).toContain('</time>');
    } finally {
      await ep.close();
    }
  });

  it('a wrong key fails with a DtlsError that never contains the key', async () => {
    const wrong = 'this-key-is-wrong-and-secret';
    const err = await createDtlsTransport({ host: '127.0.0.1', port: server!.port + 1, pskIdentity: 'dev-dtls', pskKey: Buffer.from(wrong), timeoutMs: 1000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DtlsError);
    // GnuTLS drops a Finished it cannot decrypt, so the client sees a handshake timeout (or an alert on other servers).
    expect(['timeout', 'handshake']).toContain((err as DtlsError).failure);
    const dump = inspect(err) + String((err as Error).stack);
    expect(dump).not.toContain(wrong);
    expect(dump).not.toContain(Buffer.from(wrong).toString('hex'));
  });

  it('a key with bytes above 0x7f reaches the handshake byte for byte', async () => {
    // libcoap takes its key from argv as UTF-8, so "clé-ü" is the bytes 63 6c c3 a9 2d c3 bc on both sides.
    const key = 'cl\u00e9-\u00fc';
    const binary = await startLibcoap('coap-server-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', key]);
    try {
      const transport = await createDtlsTransport({ host: '127.0.0.1', port: binary.port + 1, pskIdentity: 'dev-bin', pskKey: Buffer.from(key, 'utf8'), timeoutMs: 3000 });
      const ep = createCoapEndpoint(transport);
      try {
        expect((await ep.request(transport.remote, { method: 'GET', path: ['time'] })).code).toBe('2.05');
      } finally {
        await ep.close();
      }
    } finally {
      await stopLibcoap(binary.proc);
    }
  });

  it('refuses an empty key before touching the network', async () => {
    await expect(createDtlsTransport({ host: '127.0.0.1', port: 9, pskIdentity: 'x', pskKey: new Uint8Array(0) })).rejects.toBeInstanceOf(DtlsError);
  });

  it('reconnect() performs a new handshake after the server restarted', async () => {
    const port = server!.port;
    const transport = await createDtlsTransport({ host: '127.0.0.1', port: port + 1, pskIdentity: 'dev-dtls', pskKey: Buffer.from(PSK_KEY), timeoutMs: 3000 });
    // Short retransmission so the request into the dead session gives up quickly.
    const ep = createCoapEndpoint(transport, { ackTimeout: 100, ackRandomFactor: 1, maxRetransmit: 1 });
    try {
      expect((await ep.request(transport.remote, { method: 'GET', path: ['time'] })).code).toBe('2.05');
      await stopLibcoap(server!.proc);
      server = await startLibcoap('coap-server-gnutls', serverArgs, port);
      // The new server process knows nothing of the old session: requests over it go unanswered.
      await expect(ep.request(transport.remote, { method: 'GET', path: ['time'] })).rejects.toBeInstanceOf(CoapTimeoutError);
      await transport.reconnect();
      expect(transport.connected).toBe(true);
      expect((await ep.request(transport.remote, { method: 'GET', path: ['time'] })).code).toBe('2.05');
    } finally {
      await ep.close();
    }
  });
});

describeLibcoap('registration with coap-rd-gnutls over DTLS-PSK', () => {
  let rd: LibcoapProcess | undefined;
  beforeAll(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY]);
  });
  afterAll(async () => {
    await stopLibcoap(rd?.proc);
  });

  it('POST /rd?ep=… over coaps:// answers 2.01 with a Location-Path', async () => {
    const transport = await createDtlsTransport({ host: '127.0.0.1', port: rd!.port + 1, pskIdentity: 'node-dtls', pskKey: Buffer.from(PSK_KEY), timeoutMs: 3000 });
    const ep = createCoapEndpoint(transport);
    try {
      const res = await ep.request(transport.remote, {
        method: 'POST', path: ['rd'], query: ['ep=node-dtls', 'lt=60'], contentFormat: 40, payload: Buffer.from('</3/0>'),
      });
      expect(res.code).toBe('2.01');
      expect(res.locationPath.length).toBeGreaterThan(0);
    } finally {
      await ep.close();
    }
  });
});
