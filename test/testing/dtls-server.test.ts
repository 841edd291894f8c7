// The DTLS 1.2 PSK server transport against two independent clients: the runtime's (node-dtls-client) and libcoap's GnuTLS build.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectClient } from '../../runtime/index.js';
import { DeviceBase } from '../../generated/device.js';
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { createDtlsPskServerTransport, TestLwm2mServer, type DtlsPskServerOptions } from 'lwm2m-gen/testing';
import { describeLibcoap } from '../support/libcoap.js';

const KEY = Uint8Array.from(Buffer.from('00ff8090a1b2c3d4e5f60718293a4b5c', 'hex'));
/** libcoap's -k takes the key as text. */
const TEXT_KEY = new TextEncoder().encode('libcoap-secret');
const fast = { ackTimeout: 300, maxRetransmit: 2, ackRandomFactor: 1 };
type HandshakeEvent = Parameters<NonNullable<DtlsPskServerOptions['onHandshake']>>[0];
let server: TestLwm2mServer;
let handshakes: HandshakeEvent[];
let device: SimpleDevice | undefined;

beforeEach(async () => {
  handshakes = [];
  const transport = await createDtlsPskServerTransport({
    psk: (identity) => (identity === 'dev-dtls' ? KEY : identity === 'lib-client' ? TEXT_KEY : undefined),
    onHandshake: (e) => handshakes.push(e),
  });
  server = await TestLwm2mServer.start({ transport, coap: fast });
});

afterEach(async () => {
  await device?.stop();
  device = undefined;
  await server.close();
});

function coaps(): string {
  const { address, port } = server.address();
  return `coaps://${address}:${port}`;
}

test('the example device registers over coaps:// and answers reads, writes and notifications through the session', async () => {
  device = await startSimpleDevice({ server: coaps(), endpoint: 'dtls-dev', pskIdentity: 'dev-dtls', pskKey: KEY, coap: fast, log: () => {} });
  const dev = await server.registration('dtls-dev');
  expect(handshakes).toEqual([expect.objectContaining({ identity: 'dev-dtls', ok: true })]);
  expect(await dev.read(DeviceBase, 0, 'manufacturer')).toBe('lwm2m-gen');
  await dev.write(DeviceBase, 0, 'utcOffset', 'UTC+01:00');
  expect(await dev.read(DeviceBase, 0, 'utcOffset')).toBe('UTC+01:00');
  const obs = await dev.observe(DeviceBase, 0, 'currentTime');
  const next = await obs.next(5000);
  expect(next.getTime()).toBeGreaterThanOrEqual(obs.value.getTime());
  await obs.cancel();
});

test('a wrong key fails the handshake (the client Finished does not authenticate), an unknown identity too; no key in the reasons', async () => {
  const wrong = Uint8Array.from(KEY, (b) => b ^ 1);
  await expect(connectClient(coaps(), { endpointName: 'bad', pskIdentity: 'dev-dtls', pskKey: wrong, handshakeTimeoutMs: 2000 }))
    .rejects.toThrow();
  await expect(connectClient(coaps(), { endpointName: 'bad', pskIdentity: 'stranger', pskKey: KEY, handshakeTimeoutMs: 2000 }))
    .rejects.toThrow();
  expect(handshakes.map((h) => [h.identity, h.ok])).toEqual([['dev-dtls', false], ['stranger', false]]);
  for (const h of handshakes) {
    expect(h.reason).toBeDefined();
    expect(h.reason).not.toContain(Buffer.from(KEY).toString('hex'));
  }
  expect(server.registrations.size).toBe(0);
});

describeLibcoap('libcoap (GnuTLS) as the DTLS client', () => {
  test('coap-client-gnutls completes the handshake and its request reaches the server', async () => {
    const { port } = server.address();
    server.intercept = (req) => (req.path[0] === 'hello' ? { code: '2.05', contentFormat: 0, payload: new TextEncoder().encode('hello over dtls') } : undefined);
    const { stdout } = await promisify(execFile)('coap-client-gnutls', [
      '-u', 'lib-client', '-k', 'libcoap-secret', '-B', '5', `coaps://127.0.0.1:${port}/hello`,
    ], { timeout: 10_000 });
    expect(stdout).toContain('hello over dtls');
    expect(handshakes.at(-1)).toMatchObject({ identity: 'lib-client', ok: true });
  });
});
