// Observe-Composite end to end over UDP on 127.0.0.1 (scheduler on a manual clock): one notification of every path, per-path attributes, cancel, RST, and Block2 of a large notification.
import { TestLwm2mServer, observeComposite } from 'lwm2m-gen/testing';
import { createUdpEndpoint, OptionNumber, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { encodeBlock } from '../../../runtime/coap/message.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { ManualClock, NotifyScheduler } from '../../../runtime/notify/index.js';
import { ConfigDef, DeviceDef, ServerDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';

const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const objects = [ServerDef, DeviceDef, ConfigDef];

let server: TestLwm2mServer;
let endpoint: CoapEndpoint;
let client: Lwm2mClient;
let device: TestDevice;
let clock: ManualClock;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
  endpoint = await createUdpEndpoint({
    address: '127.0.0.1', port: 0, ...fast,
    onNotificationReset: (peer, token) => client.notificationReset(peer, token),
  });
  clock = new ManualClock();
  client = new Lwm2mClient({
    endpointName: 'cobs-dev', transport: endpoint, server: server.address(), scheduler: new NotifyScheduler(clock),
  });
  device = new TestDevice();
  client.addInstance(new TestServer(0, { shortServerId: 3, lifetime: 300, defaultMinimumPeriod: 1 }))
    .addInstance(device).addObject(ConfigDef, { create: (id) => new TestConfig(id) }).addInstance(new TestConfig(0, { level: 1 }));
  const registered = client.next('registered');
  await client.start();
  await registered;
});

afterEach(async () => {
  await client.stop();
  await endpoint.close();
  await server.close();
});

/** Lets the event loop deliver datagrams already sent. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('Observe-Composite (FETCH / with Observe)', () => {
  it('answers every path with Observe 0, then notifies all of them when one changes', async () => {
    const obs = await observeComposite(server, 'cobs-dev', objects, ['/3/0/9', '/10250/0/1']);
    expect([obs.first.code, obs.first.response.observe]).toEqual(['2.05', 0]);
    expect([...obs.first.values.entries()]).toEqual([['/3/0/9', 87], ['/10250/0/1', 1]]);
    expect(client.observations.composite.size).toBe(1);

    device.batteryLevel = 50;
    clock.advance(999);
    await settle();
    const early = obs.next();
    let arrived = false;
    void early.then(() => { arrived = true; });
    await settle();
    expect(arrived).toBe(false); // pmin 1 s (/1/0/2) holds it
    clock.advance(1);
    const n1 = await early;
    expect([n1.code, n1.response.observe, n1.response.contentFormat]).toEqual(['2.05', 1, ContentFormat.SENML_JSON]);
    expect([...n1.values.entries()]).toEqual([['/3/0/9', 50], ['/10250/0/1', 1]]);
  });

  it('takes LwM2M 1.2 attributes in its query, for every path of this observation only, and refuses their misuse with 4.00', async () => {
    // st=10 in the query: a change of 5 is not notified, one of 20 is.
    const obs = await observeComposite(server, 'cobs-dev', objects, ['/3/0/9', '/10250/0/1'], { query: ['st=10'] });
    expect(obs.first.code).toBe('2.05');
    const next = obs.next();
    device.batteryLevel = 82;
    clock.advance(1000);
    await settle();
    device.batteryLevel = 62;
    clock.advance(1000);
    expect([...(await next).values.entries()]).toEqual([['/3/0/9', 62], ['/10250/0/1', 1]]);
    // Another Observe of /3/0/9 without the query is not bound by it.
    const plain = await server.observe('cobs-dev', '/3/0/9');
    device.batteryLevel = 60;
    clock.advance(1000);
    expect(new TextDecoder().decode((await plain.next()).payload)).toBe('60');

    const bad = await server.request('cobs-dev', '/', {
      method: 'FETCH', contentFormat: ContentFormat.SENML_JSON, payload: new TextEncoder().encode('[{"n":"/3/0/9"},{"n":"/10250/0"}]'),
      observe: 0, query: ['gt=5'],
    });
    expect(bad.code).toBe('4.00');
    expect(client.observations.composite.size).toBe(1);
  });

  it('applies each path its own attributes: a step on one, pmax on the other', async () => {
    expect((await server.writeAttributes('cobs-dev', '/3/0/9', ['st=10'])).code).toBe('2.04');
    expect((await server.writeAttributes('cobs-dev', '/10250/0', ['pmax=30'])).code).toBe('2.04');
    const obs = await observeComposite(server, 'cobs-dev', objects, ['/3/0/9', '/10250/0'], { format: ContentFormat.SENML_CBOR });
    device.batteryLevel = 82; // a step of 5 < st: nothing
    clock.advance(5000);
    await settle();
    device.batteryLevel = 70; // 17 from the last notified 87: notify
    clock.advance(10);
    const n1 = await obs.next();
    expect([n1.response.observe, n1.values.get('/3/0/9'), n1.values.get('/10250/0/0')]).toEqual([1, 70, 'cfg0']);
    // /10250/0's pmax (30 s from the first response) sends the whole composite again, unchanged values included.
    clock.advance(25_000);
    const n2 = await obs.next();
    expect([n2.response.observe, n2.values.get('/3/0/9'), n2.values.get('/10250/0/1')]).toEqual([2, 70, 1]);
  });

  it('notifies a path that appears, and one notification when several paths change in one tick', async () => {
    const obs = await observeComposite(server, 'cobs-dev', objects, ['/10250/1', '/3/0/9', '/10250/0/1']);
    expect([...obs.first.values.keys()]).toEqual(['/3/0/9', '/10250/0/1']);
    client.addInstance(new TestConfig(1, { level: 4 }));
    device.batteryLevel = 10;
    clock.advance(1000);
    const n1 = await obs.next();
    expect(n1.values.get('/10250/1/1')).toBe(4);
    expect(n1.values.get('/3/0/9')).toBe(10);
    clock.advance(5000);
    await settle();
    expect(server.log.length).toBeGreaterThan(0);
    // Nothing more was sent: the three paths were due together and went out once.
    const more = obs.next();
    let arrived = false;
    void more.then(() => { arrived = true; });
    await settle();
    expect(arrived).toBe(false);
  });

  it('ends on cancel (FETCH / with Observe 1) and on RST', async () => {
    const obs = await observeComposite(server, 'cobs-dev', objects, ['/3/0/9', '/3/0/0']);
    const cancelled = await obs.cancel();
    expect([cancelled.code, cancelled.values.get('/3/0/9')]).toEqual(['2.05', 87]);
    expect(client.observations.composite.size).toBe(0);
    device.batteryLevel = 3;
    clock.advance(2000);
    await settle();
    let arrived = false;
    void obs.next().then(() => { arrived = true; });
    await settle();
    expect(arrived).toBe(false);

    const second = await server.observeRequest('cobs-dev', '/', {
      method: 'FETCH', contentFormat: ContentFormat.SENML_JSON, payload: new TextEncoder().encode('[{"n":"/3/0/9"}]'),
      observe: 0, confirmable: true,
    });
    expect(client.observations.composite.size).toBe(1);
    second.reset();
    device.batteryLevel = 4;
    clock.advance(2000);
    await settle();
    // The NON notification was answered with RST: the client dropped the observation.
    for (let i = 0; i < 20 && client.observations.composite.size > 0; i++) await settle();
    expect(client.observations.composite.size).toBe(0);
  });

  it('sends a notification larger than a block as its first block; the rest comes by FETCH', async () => {
    const blob = new Uint8Array(2500).map((_, i) => (i * 7) & 0xff);
    client.removeInstance(10250, 0);
    client.addInstance(new TestConfig(0, { level: 1, blob }));
    const obs = await server.observeRequest('cobs-dev', '/', {
      method: 'FETCH', contentFormat: ContentFormat.SENML_JSON, accept: ContentFormat.SENML_CBOR,
      payload: new TextEncoder().encode('[{"n":"/10250/0"},{"n":"/3/0/9"}]'), observe: 0,
    });
    expect(obs.response.code).toBe('2.05');
    device.batteryLevel = 20;
    clock.advance(1000);
    const n = await obs.next();
    // The tap sees the first block only; block 1 comes from a FETCH with the same body and Block2 NUM 1.
    expect(n.payload.length).toBe(1024);
    const request = {
      method: 'FETCH', contentFormat: ContentFormat.SENML_JSON, accept: ContentFormat.SENML_CBOR,
      payload: new TextEncoder().encode('[{"n":"/10250/0"},{"n":"/3/0/9"}]'),
    } as const;
    const whole = await server.request('cobs-dev', '/', request);
    expect(whole.payload.length).toBeGreaterThan(2500);
    expect(Buffer.from(n.payload)).toEqual(Buffer.from(whole.payload.subarray(0, 1024)));
    const block1 = await server.request('cobs-dev', '/', {
      ...request, options: [{ number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 6 }) }],
    });
    expect(block1.code).toBe('2.05');
    expect(Buffer.from(block1.payload)).toEqual(Buffer.from(whole.payload.subarray(1024, 2048)));
  });
});
