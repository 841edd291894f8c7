// Interop with coap-shepherd, an independent LwM2M 1.0 server: register, read, write, execute, discover and attributes over TLV.
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { DeviceDef10, TestDevice, TestServer } from '../../support/objects.js';
import { startShepherd, type RunningShepherd, type Shepherd } from '../../support/shepherd.js';

let running: RunningShepherd;
let shepherd: Shepherd;
let endpoint: CoapEndpoint | undefined;
let client: Lwm2mClient | undefined;

beforeAll(async () => {
  running = await startShepherd({ stripLinkAttributes: false });
  shepherd = running.shepherd;
});

afterAll(async () => {
  await running.stop();
});

afterEach(async () => {
  await client?.stop();
  await endpoint?.close();
  shepherd.removeAllListeners('ind');
});

it('registers with coap-shepherd and serves its read, write, execute, discover and write-attributes', async () => {
  endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
  client = new Lwm2mClient({
    endpointName: 'shep-dev', transport: endpoint, server: { address: '127.0.0.1', port: shepherd._net.port },
    lwm2mVersion: '1.0', preferredFormat: ContentFormat.TLV,
  });
  const device = new TestDevice(DeviceDef10);
  client.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 600 })).addInstance(device);
  // devIncoming: the shepherd has registered the client and read every object over TLV
  const incoming = running.incoming('shep-dev');
  await client.start();
  expect(client.state).toBe('registered');
  await incoming;
  const cnode = shepherd.find('shep-dev')!;
  expect(cnode).toBeDefined();

  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'ACME' });
  expect(await cnode.readReq('/3/0/9')).toEqual({ status: '2.05', data: 87 });
  const inst = await cnode.readReq('/3/0');
  expect(inst.status).toBe('2.05');
  // coap-shepherd names resources after its own IPSO table; it shows multiple Integer resources as '' (its TLV decoder),
  // so only the single values are compared here (our TLV for /3/0/6 is 86 06 41 00 01 41 01 05, per the spec).
  expect(inst.data).toMatchObject({ manuf: 'ACME', model: 'X-1', battLevel: 87, UTCOffset: '+01:00', currTime: 1700000000 });
  expect(Object.keys((inst.data as { availPwrSrc: object }).availPwrSrc)).toEqual(['0', '1']);

  expect((await cnode.writeReq('/3/0/14', '+04:00')).status).toBe('2.04');
  expect(device.utcOffset).toBe('+04:00');
  expect((await cnode.writeReq('/3/0/9', 50)).status).toBe('4.05');
  expect((await cnode.writeReq('/1/0/1', 900)).status).toBe('2.04');
  expect(client.lifetime()).toBe(900);

  expect((await cnode.executeReq('/3/0/4', [])).status).toBe('2.04');
  expect(device.reboots).toHaveLength(1);
  expect((await cnode.executeReq('/3/0/0', [])).status).toBe('4.05');

  expect((await cnode.writeAttrsReq('/3/0/9', { pmin: 10, pmax: 60 })).status).toBe('2.04');
  const disc = await cnode.discoverReq('/3/0/9');
  expect(disc.status).toBe('2.05');
  expect(JSON.stringify(disc.data)).toMatch(/pmin.*10.*pmax.*60/);
  const discObj = await cnode.discoverReq('/3');
  expect(discObj.status).toBe('2.05');

  const deregistered = client.next('deregistered');
  await client.stop();
  await deregistered;
  client = undefined;
});
