// The coaps:// test server: the runtime's DTLS client (node-dtls-client) and libcoap's gnutls client handshake with it and exchange CoAP.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectClient, type ConnectedClient } from '../../runtime/index.js';
import { DeviceBase } from '../../generated/device.js';
import { LwM2MServerBase } from '../../generated/lwm2m-server.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
class Device extends DeviceBase {
  reboot(): void {}
}

let server: TestLwm2mServer;
let connected: ConnectedClient | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ psk: { 'dev-psk': key, libcoap: Buffer.from('libcoap-dtls-key-1') }, coap: { ackTimeout: 200, maxRetransmit: 2, ackRandomFactor: 1 } });
});
afterEach(async () => {
  await connected?.close();
  connected = undefined;
  await server.close();
});

async function connect(identity: string, pskKey: Uint8Array): Promise<ConnectedClient> {
  connected = await connectClient(server.uri(), {
    endpointName: 'dtls-dev', pskIdentity: identity, pskKey, handshakeTimeoutMs: 2000,
    coap: { ackTimeout: 200, maxRetransmit: 2, ackRandomFactor: 1 }, retry: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  connected.client.addInstance(new (class extends LwM2MServerBase {})(0, {
    shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false, defaultMinimumPeriod: 0,
  })).addInstance(new Device(0, { manufacturer: 'ACME', batteryLevel: 55, errorCode: [0], supportedBindingAndModes: 'U' }));
  await connected.client.start();
  return connected;
}

describe('TestLwm2mServer over DTLS-PSK', () => {
  it('registers a coaps:// client and serves typed requests and Observe through the session', async () => {
    expect(server.uri()).toMatch(/^coaps:\/\/127\.0\.0\.1:\d+$/);
    const c = await connect('dev-psk', key);
    const dev = await server.registration('dtls-dev');
    expect(await dev.read(DeviceBase, 0, 'batteryLevel')).toBe(55);
    await dev.write(DeviceBase, 0, 'utcOffset', '+02:00');
    const obs = await dev.observe(DeviceBase, 0, 'batteryLevel');
    const device = c.client.registry.instance(3, 0) as Device;
    device.batteryLevel = 56;
    expect(await obs.next(5000)).toBe(56);
    await obs.cancel();
    expect(server.dtls!.sessions).toHaveLength(1);
  });

  it('refuses an unknown identity and a wrong key, reporting both without the key', async () => {
    await expect(connect('stranger', key)).rejects.toThrow();
    await expect(connect('dev-psk', Buffer.alloc(16, 7))).rejects.toThrow();
    expect(server.dtls!.failures.map((f) => [f.reason, f.identity])).toEqual([
      ['unknown PSK identity', 'stranger'],
      ['the client Finished does not decrypt (a wrong key for the identity)', undefined],
    ]);
    expect(JSON.stringify(server.dtls!.failures)).not.toContain(key.toString('hex'));
    expect(server.registrations.size).toBe(0);
  });

  it('serves coap-client-gnutls of libcoap (an independent DTLS implementation)', async () => {
    const c = await connect('dev-psk', key);
    await server.registration('dtls-dev');
    await c.close();
    connected = undefined;
    // A Register sent by hand through libcoap's DTLS: the server takes it like any other.
    await promisify(execFile)('coap-client-gnutls', [
      '-m', 'post', '-u', 'libcoap', '-k', 'libcoap-dtls-key-1', '-B', '5', '-t', '40', '-e', '</1/0>,</3/0>',
      `${server.uri()}/rd?ep=libcoap-dev&lt=60`,
    ], { timeout: 10_000 });
    expect((await server.registration('libcoap-dev', { timeoutMs: 2000 })).info).toMatchObject({ lifetime: 60, links: '</1/0>,</3/0>' });
    expect(server.dtls!.failures).toEqual([]);
  });
});
