// Observe end to end over UDP on 127.0.0.1: first response, notifications on change and pmax (scheduler on a manual clock), RST, 4.04 on delete.
import { ContentFormat, decodeRecords } from '../../../runtime/codec/index.js';
import type { Lwm2mClient } from '../../../runtime/client/index.js';
import { ManualClock, NotifyScheduler } from '../../../runtime/notify/index.js';
import type { TestLwm2mServer } from 'lwm2m-gen/testing';
import { ConfigDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';
import { startRegisteredClient, type UdpRig } from '../../support/registered-client.js';

const text = new TextDecoder();

let rig: UdpRig;
let server: TestLwm2mServer;
let client: Lwm2mClient;
let device: TestDevice;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  device = new TestDevice();
  rig = await startRegisteredClient({
    endpointName: 'obs-dev', client: { preferredFormat: ContentFormat.TLV, scheduler: new NotifyScheduler(clock) },
    objects: (c) => {
      c.addInstance(new TestServer(0, { shortServerId: 3, lifetime: 300, defaultMinimumPeriod: 1, defaultMaximumPeriod: 20 }))
        .addInstance(device).addObject(ConfigDef, { create: (id) => new TestConfig(id) }).addInstance(new TestConfig(0));
    },
  });
  ({ server, client } = rig);
});

afterEach(() => rig.close());

describe('Observe', () => {
  it('answers with Observe 0, then notifies a change after pmin and again at pmax', async () => {
    const obs = await server.observe('obs-dev', '/3/0/9');
    expect([obs.response.code, obs.response.observe, text.decode(obs.response.payload)]).toEqual(['2.05', 0, '87']);
    expect(client.observations.observations.size).toBe(1);

    device.batteryLevel = 50;
    // pmin (1 s from /1/0/2) holds the change back
    clock.advance(999);
    expect(obs.notifications).toHaveLength(0);
    clock.advance(1);
    const n1 = await obs.next();
    expect([n1.code, n1.observe, n1.contentFormat, text.decode(n1.payload), n1.confirmable]).toEqual(['2.05', 1, 0, '50', false]);

    // pmax (20 s from /1/0/3): a notification with the unchanged value
    clock.advance(20_000);
    const n2 = await obs.next();
    expect([n2.observe, text.decode(n2.payload)]).toEqual([2, '50']);
  });

  it('follows Write-Attributes: gt makes only crossings notify', async () => {
    const obs = await server.observe('obs-dev', '/3/0/9');
    expect((await server.writeAttributes('obs-dev', '/3/0/9', ['gt=60', 'pmax=1000'])).code).toBe('2.04');
    device.batteryLevel = 80; // still above 60: no notification
    clock.advance(5000);
    device.batteryLevel = 40; // crosses 60
    clock.advance(5000);
    const n = await obs.next();
    expect(text.decode(n.payload)).toBe('40');
    expect(obs.notifications).toHaveLength(1);
  });

  it('observes an instance in the format of the first response and sends 4.04 when it is deleted', async () => {
    const obs = await server.observe('obs-dev', '/10250/0');
    expect(obs.response.contentFormat).toBe(ContentFormat.TLV);
    expect((await server.write('obs-dev', '/10250/0/1', '7', ContentFormat.TEXT)).code).toBe('2.04');
    clock.advance(1000);
    const n = await obs.next();
    expect(n.contentFormat).toBe(ContentFormat.TLV);
    const records = decodeRecords(ContentFormat.TLV, { objectId: 10250, instanceId: 0 }, n.payload, client.registry.lookup);
    expect(records.find((r) => r.path.resourceId === 1)?.value).toBe(7);

    expect((await server.delete('obs-dev', '/10250/0')).code).toBe('2.02');
    clock.advance(1000);
    const gone = await obs.next();
    expect(gone.code).toBe('4.04');
    expect(client.observations.observations.size).toBe(0);
  });

  it('ends an observation the server resets, and all of them on De-register', async () => {
    const a = await server.observe('obs-dev', '/3/0/9');
    await server.observe('obs-dev', '/3/0/14');
    expect(client.observations.observations.size).toBe(2);
    a.reset();
    device.batteryLevel = 10;
    clock.advance(1000);
    // the NON notification is answered with RST; the endpoint tells the client
    for (let i = 0; i < 50 && client.observations.observations.size !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(client.observations.observations.size).toBe(1);
    await client.stop();
    expect(client.observations.observations.size).toBe(0);
  });
});
