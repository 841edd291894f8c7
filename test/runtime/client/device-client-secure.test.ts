// After a bootstrap over UDP, DeviceClient registers with libcoap's coap-rd over the provisioned coaps:// (DTLS-PSK), coap+tcp:// and coaps+tcp:// (TLS-PSK) with the /0 credentials.
import { DeviceClient } from '../../../runtime/client/index.js';
import { TestBootstrapServer } from 'lwm2m-gen/testing';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../../support/libcoap.js';
import { TestDevice } from '../../support/objects.js';

const PSK = 'device-client-psk-1';
const KEY = Uint8Array.from(Buffer.from(PSK, 'latin1'));
const fast = { ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 };

describeLibcoap('DeviceClient with coap-rd-gnutls after a bootstrap', () => {
  let rd: LibcoapProcess;
  let bs: TestBootstrapServer;
  let device: DeviceClient | undefined;
  // libcoap 4.3.1's coap-rd aborts when a registration is DELETEd, so each test gets a fresh one.
  beforeEach(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK, '-h', 'hint']);
  });
  afterEach(async () => {
    await device?.stop({ deregister: false });
    device = undefined;
    await bs?.close();
    await stopLibcoap(rd.proc);
  });

  it.each([
    ['coaps', true],
    ['coap+tcp', false],
    ['coaps+tcp', true],
  ])('registers over the provisioned %s:// account', async (scheme, secure) => {
    const uri = `${scheme}://127.0.0.1:${rd.port + (secure ? 1 : 0)}`;
    bs = await TestBootstrapServer.start({
      coap: fast,
      config: () => ({ servers: [{ uri, shortServerId: 5, ...(secure ? { pskIdentity: 'dc-device', pskKey: KEY } : {}) }] }),
    });
    const said: string[] = [];
    device = new DeviceClient({
      endpointName: `dc-${scheme.replace('+', '-')}`,
      factory: { security: [{ uri: bs.uri(), bootstrap: true }] },
      transport: { coap: fast, stream: { requestTimeoutMs: 1000 }, handshakeTimeoutMs: 3000 },
      retry: { initialDelayMs: 100 },
    });
    device.addInstance(new TestDevice());
    for (const name of ['bootstrap', 'registered', 'error', 'server'] as const) {
      device.on(name, (e: unknown) => said.push(e instanceof Error ? e.message : JSON.stringify(e, (k, v: unknown) => (k === 'client' ? undefined : v))));
    }
    const registered = device.next('registered');
    await device.start();
    expect((await registered).shortServerId).toBe(5);
    const client = device.clients().get(5)!;
    expect(client.state).toBe('registered');
    expect(client.binding()).toBe(scheme.endsWith('+tcp') ? 'T' : 'U');
    const account = device.accounts().find((a) => a.shortServerId === 5)!;
    expect(account.pskKey ? Buffer.from(account.pskKey).toString('latin1') : undefined).toBe(secure ? PSK : undefined);
    const all = said.join('\n');
    expect(all).not.toContain(PSK);
    expect(all).not.toContain(Buffer.from(KEY).toString('hex'));
  });
});
