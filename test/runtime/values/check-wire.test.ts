// check.ts over a real socket: a server write a number resource cannot hold exactly is refused with 4.00, never rounded.
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat, encodeRecords } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { LwM2MServerBase } from '../../../generated/lwm2m-server.js';

class Server extends LwM2MServerBase {}
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const text = new TextDecoder();

let server: TestLwm2mServer;
let endpoint: CoapEndpoint;
let client: Lwm2mClient;
let instance: Server;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
  endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ...fast });
  client = new Lwm2mClient({ endpointName: 'safe-int', transport: endpoint, server: server.address(), retry: { initialDelayMs: 20, maxDelayMs: 100 } });
  instance = new Server(0, { shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false });
  client.addInstance(instance);
  const registered = client.next('registered');
  await client.start();
  await registered;
});

afterEach(async () => {
  await client.stop();
  await endpoint.close();
  await server.close();
});

test('Lifetime (/1/0/1, a number): 2^53 refused with 4.00 naming the path, in text and TLV; 2^30 stored exactly', async () => {
  const refused = await server.write('safe-int', '/1/0/1', '9007199254740993', ContentFormat.TEXT);
  expect(refused.code).toBe('4.00');
  expect(text.decode(refused.payload)).toMatch(/\/1\/0\/1: value 9007199254740993 is beyond the safe integer range/);
  const tlv = encodeRecords(ContentFormat.TLV, { objectId: 1, instanceId: 0, resourceId: 1 }, [{ path: { objectId: 1, instanceId: 0, resourceId: 1 }, value: 2n ** 60n }], client.registry.lookup);
  expect((await server.write('safe-int', '/1/0/1', tlv, ContentFormat.TLV)).code).toBe('4.00');
  expect(instance.lifetime).toBe(300);
  // Within the safe range and Lifetime's own 1..2^31-1 (registry/1): stored as the number it is.
  expect((await server.write('safe-int', '/1/0/1', String(2 ** 30), ContentFormat.TEXT)).code).toBe('2.04');
  expect(instance.lifetime).toBe(2 ** 30);
  expect(typeof instance.lifetime).toBe('number');
});
