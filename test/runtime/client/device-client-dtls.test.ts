// Client-initiated bootstrap over coaps:// (DTLS-PSK): TestBootstrapServer on testing's DTLS-PSK server side, the bootstrap account's PSK from /0.
import { DeviceClient } from '../../../runtime/client/index.js';
import { DtlsPskServer, TestBootstrapServer, TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestDevice } from '../../support/objects.js';

const fast = { ackTimeout: 200, maxRetransmit: 2, ackRandomFactor: 1 };
const KEY = Uint8Array.from(Buffer.from('bootstrap-psk-\u00e9', 'latin1'));

it('is provisioned over DTLS-PSK and registers with the DM server it was given; no key in any event', async () => {
  const dm = await TestLwm2mServer.start({ coap: fast });
  const dtls = await DtlsPskServer.start({ psk: { 'bs-dev': KEY }, address: '127.0.0.1', port: 0 });
  const bs = await TestBootstrapServer.start({
    coap: fast, transport: dtls,
    config: () => ({ servers: [{ uri: `coap://127.0.0.1:${dm.address().port}`, shortServerId: 4 }] }),
  });
  const device = new DeviceClient({
    endpointName: 'bs-dtls',
    factory: { security: [{ uri: `coaps://127.0.0.1:${bs.address().port}`, bootstrap: true, pskIdentity: 'bs-dev', pskKey: KEY }] },
    transport: { coap: fast, handshakeTimeoutMs: 5000 },
    bootstrap: { schedule: (n) => (n < 2 ? 100 : undefined), idleTimeoutMs: 5000 },
  });
  device.addInstance(new TestDevice());
  const said: string[] = [];
  device.on('bootstrap', (s) => said.push(JSON.stringify(s)));
  device.on('error', (e) => said.push(e.message));
  try {
    const registered = device.next('registered');
    await device.start();
    expect((await registered).shortServerId).toBe(4);
    expect(bs.requests.map((r) => r.endpoint)).toEqual(['bs-dtls']);
    expect(bs.log.at(-1)).toMatchObject({ path: '/bs', code: '2.04' });
    expect(said.join('\n')).not.toContain(Buffer.from(KEY).toString('latin1'));
    expect(said.join('\n')).not.toContain(Buffer.from(KEY).toString('hex'));
  } finally {
    await device.stop({ deregister: true });
    await bs.close();
    await dm.close();
  }
});
