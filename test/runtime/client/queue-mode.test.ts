// Queue mode over UDP on 127.0.0.1: `Q` in the Register, sleep after the awake period (requests unanswered), wake with an Update first, then what was held.
import { CoapTimeoutError, createUdpEndpoint, createUdpTransport, createCoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import {
  ConnectError, Lwm2mClient, connectClient, queueModeTransport, DEFAULT_AWAKE_MS, type ConnectedClient,
} from '../../../runtime/client/index.js';
import type { AwakeEvent } from '../../../runtime/client/events.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestDevice, TestServer } from '../../support/objects.js';
import { fast } from '../../support/registered-client.js';

const text = new TextDecoder();
/** The client's awake period in these tests: long enough for a request and its answer on loopback under load. */
const AWAKE_MS = 1000;

let server: TestLwm2mServer;
let connected: ConnectedClient | undefined;
let device: TestDevice;

async function connect(options: { lwm2mVersion?: string; serverAwakeMs?: number } = {}): Promise<ConnectedClient> {
  server = await TestLwm2mServer.start({ coap: fast, ...(options.serverAwakeMs !== undefined ? { awakeMs: options.serverAwakeMs } : {}) });
  device = new TestDevice();
  connected = await connectClient(server.uri(), {
    endpointName: 'q-dev', coap: fast, closeTimeoutMs: 1000, retry: { initialDelayMs: 20, maxDelayMs: 100 },
    queueMode: { awakeMs: AWAKE_MS }, preferredFormat: ContentFormat.SENML_JSON,
    ...(options.lwm2mVersion ? { lwm2mVersion: options.lwm2mVersion } : {}),
  });
  connected.client.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300 })).addInstance(device);
  return connected;
}

async function asleep(client: Lwm2mClient): Promise<void> {
  if (!client.asleep) await client.next('sleeping');
}

afterEach(async () => {
  await connected?.close();
  connected = undefined;
  await server.close();
});

describe('queue mode', () => {
  it('registers with Q (LwM2M 1.1), serves requests while awake, then sleeps and answers nothing', async () => {
    const { client } = await connect();
    const registered = client.next('registered');
    await client.start();
    await registered;
    const reg = server.findRegistration('q-dev')!;
    expect(reg.query).toContain('Q');
    expect([reg.binding, reg.queueMode]).toEqual(['U', true]);

    // Awake: served, and each request starts the awake period again.
    const read = await server.endpoint.request(reg.peer, { method: 'GET', path: ['3', '0', '9'] });
    expect([read.code, text.decode(read.payload)]).toEqual(['2.05', '87']);
    expect(client.asleep).toBe(false);

    const sleeping = await client.next('sleeping');
    expect(sleeping.awakeMs).toBe(AWAKE_MS);
    expect(client.asleep).toBe(true);
    // Asleep: the radio is off; the server's request is never answered (not even with an error).
    await expect(server.endpoint.request(reg.peer, { method: 'GET', path: ['3', '0', '9'] })).rejects.toBeInstanceOf(CoapTimeoutError);
  });

  it('client.wake() sends an Update first and then serves again until the next awake period ends', async () => {
    const { client } = await connect();
    await client.start();
    await asleep(client);
    const updates = server.log.filter((e) => e.kind === 'update').length;
    const awake = client.next('awake');
    const updated = client.next('updated');
    await client.wake();
    expect((await awake).reason).toBe('app');
    await updated;
    expect(server.log.filter((e) => e.kind === 'update')).toHaveLength(updates + 1);
    const read = await server.read('q-dev', '/3/0/9');
    expect(read.code).toBe('2.05');
    await client.next('sleeping');
  });

  it('a notification due while asleep wakes the client: the Update goes out first, then the notification', async () => {
    const { client } = await connect();
    await client.start();
    const obs = await server.observe('q-dev', '/3/0/9', ContentFormat.SENML_JSON);
    await asleep(client);
    const seen: string[] = [];
    server.onRegistrationChange((e) => { if (e.kind === 'updated') seen.push(`update with ${obs.notifications.length} notifications`); });
    const awake = new Promise<AwakeEvent>((resolve) => client.on('awake', resolve));
    device.batteryLevel = 33;
    expect((await awake).reason).toBe('notification');
    const n = await obs.next();
    expect(seen).toEqual(['update with 0 notifications']);
    const [record] = JSON.parse(text.decode(n.payload)) as Array<{ v: number; bt?: number }>;
    expect(record!.v).toBe(33);
    // It was held while the client woke: it carries the time it was made.
    expect(typeof record!.bt).toBe('number');
  });

  it('what changes while asleep is all delivered on waking, whatever Notification Storing says', async () => {
    const { client } = await connect();
    await client.start();
    const obs = await server.observe('q-dev', '/3/0/9', ContentFormat.SENML_JSON);
    await asleep(client);
    // The first change wakes the client; the second comes while it wakes: both are delivered, none replaced.
    device.batteryLevel = 20;
    await new Promise((r) => setTimeout(r, 5));
    device.batteryLevel = 10;
    while (obs.notifications.length < 2) await obs.next();
    expect(obs.notifications.map((x) => (JSON.parse(text.decode(x.payload)) as Array<{ v: number }>)[0]!.v)).toEqual([20, 10]);
  });

  it('a Send while asleep wakes the client: an Update first, then the POST /dp, answered', async () => {
    server = await TestLwm2mServer.start({ coap: fast });
    // The client's own /1 instance (from its options): it has Mute Send (/1/x/23), false.
    connected = await connectClient(server.uri(), {
      endpointName: 'q-dev', coap: fast, closeTimeoutMs: 1000, queueMode: { awakeMs: 200 }, lifetime: 300,
    });
    const { client } = connected;
    client.addInstance(new TestDevice());
    await client.start();
    await asleep(client);
    const updates = server.log.filter((e) => e.kind === 'update').length;
    const awake = client.next('awake');
    const result = await client.send(['/3/0/9']);
    expect((await awake).reason).toBe('send');
    expect(result.status).toBe('delivered');
    expect(server.log.filter((e) => e.kind === 'update')).toHaveLength(updates + 1);
  });

  it('the lifetime Update due while asleep wakes the client for it', async () => {
    server = await TestLwm2mServer.start({ coap: fast });
    connected = await connectClient(server.uri(), {
      endpointName: 'q-dev', coap: fast, closeTimeoutMs: 1000, queueMode: { awakeMs: 200 },
      // An Update 1.5 s after each Register or Update: well after the client fell asleep.
      updateAfter: () => 1.5,
    });
    const { client } = connected;
    client.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300 })).addInstance(new TestDevice());
    await client.start();
    await asleep(client);
    const awake = client.next('awake');
    await client.next('updated');
    expect((await awake).reason).toBe('update');
  });

  it('to an LwM2M 1.0 server the binding says it: b=UQ', async () => {
    const { client } = await connect({ lwm2mVersion: '1.0' });
    await client.start();
    const reg = server.findRegistration('q-dev')!;
    expect(reg.query).not.toContain('Q');
    expect([reg.binding, reg.queueMode]).toEqual(['UQ', true]);
  });

  it("the test server holds a request to a sleeping device until its next Update, as Leshan does", async () => {
    const { client } = await connect({ serverAwakeMs: AWAKE_MS });
    await client.start();
    await asleep(client);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.awake('q-dev')).toBe(false);
    const read = server.read('q-dev', '/3/0/9');
    let answered = false;
    void read.then(() => { answered = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await client.wake();
    expect((await read).code).toBe('2.05');
  });

  it('defaults to an awake period of MAX_TRANSMIT_WAIT (93 s) and refuses stream transports', async () => {
    expect(DEFAULT_AWAKE_MS).toBe(93_000);
    server = await TestLwm2mServer.start({ coap: fast });
    await expect(connectClient('coap+tcp://127.0.0.1:5683', { endpointName: 'q', queueMode: {} })).rejects.toMatchObject({
      reason: 'queue-mode-unsupported',
    });
    await expect(connectClient('coap+tcp://127.0.0.1:5683', { endpointName: 'q', queueMode: {} })).rejects.toBeInstanceOf(ConnectError);
  });

  it('an endpoint of the app gets its radio from queueModeTransport; without one, a request while asleep is answered 5.03', async () => {
    server = await TestLwm2mServer.start({ coap: fast });
    const inner = await createUdpTransport({ address: '127.0.0.1', port: 0 });
    const { transport, radio } = queueModeTransport(inner);
    const withRadio = new Lwm2mClient({
      endpointName: 'radio-dev', transport: createCoapEndpoint(transport, fast), server: server.address(), queueMode: { awakeMs: 200, radio },
    });
    withRadio.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300 })).addInstance(new TestDevice());
    const plainEndpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ...fast });
    const plain = new Lwm2mClient({ endpointName: 'plain-dev', transport: plainEndpoint, server: server.address(), queueMode: { awakeMs: 200 } });
    plain.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300 })).addInstance(new TestDevice());
    try {
      await Promise.all([withRadio.start(), plain.start()]);
      await Promise.all([asleep(withRadio), asleep(plain)]);
      expect(radio.asleep).toBe(true);
      const a = server.findRegistration('radio-dev')!.peer;
      const b = server.findRegistration('plain-dev')!.peer;
      await expect(server.endpoint.request(a, { method: 'GET', path: ['3', '0', '9'] })).rejects.toBeInstanceOf(CoapTimeoutError);
      expect((await server.endpoint.request(b, { method: 'GET', path: ['3', '0', '9'] })).code).toBe('5.03');
    } finally {
      await withRadio.stop();
      await plain.stop();
      await inner.close();
      await plainEndpoint.close();
    }
  });
});
