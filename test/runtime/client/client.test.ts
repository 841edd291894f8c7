// The registration lifecycle on a manual clock over an in-memory network: Register, Update, re-Register, retries, Disable, stop.
import { ManualClock, MemoryNetwork, createCoapEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient, defaultUpdateAfter, type Lwm2mClientOptions } from '../../../runtime/client/index.js';
import type { ClientEvents } from '../../../runtime/client/events.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestConfig, TestDevice, TestServer } from '../../support/objects.js';

const utf8 = new TextEncoder();

/** Lets queued microtasks and in-memory deliveries run; no wall-clock time is involved. */
async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Lets the router's after-response tasks (a real setTimeout 0) run, then what they started. */
async function afterResponse(): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  await flush();
}

interface Rig {
  clock: ManualClock;
  server: TestLwm2mServer;
  client: Lwm2mClient;
  endpoint: CoapEndpoint;
  network: MemoryNetwork;
  events: Array<[keyof ClientEvents, unknown]>;
  serverInstance: TestServer;
  close(): Promise<void>;
}

async function rig(over: Partial<Lwm2mClientOptions> = {}, serverValues: Partial<ConstructorParameters<typeof TestServer>[1]> = {}): Promise<Rig> {
  const clock = new ManualClock();
  const network = new MemoryNetwork();
  const coap = { clock, random: () => 0, maxRetransmit: 1, ackTimeout: 1000 };
  const server = await TestLwm2mServer.start({ transport: network.createTransport('10.0.0.2', 5683), coap });
  const endpoint = createCoapEndpoint(network.createTransport('10.0.0.1', 56830), coap);
  const client = new Lwm2mClient({
    endpointName: 'dev1', transport: endpoint, server: server.address(), clock, preferredFormat: ContentFormat.TLV,
    retry: { initialDelayMs: 1000, maxDelayMs: 8000 }, ...over,
  });
  const serverInstance = new TestServer(0, { shortServerId: 101, lifetime: 300, ...serverValues });
  client.addInstance(serverInstance).addInstance(new TestDevice()).addInstance(new TestConfig(0));
  const events: Array<[keyof ClientEvents, unknown]> = [];
  for (const name of ['registered', 'updated', 'deregistered', 'registration-failed', 'error'] as const) {
    client.on(name, (e) => events.push([name, e]));
  }
  return {
    clock, server, client, endpoint, network, events, serverInstance,
    close: async () => {
      await client.stop();
      await endpoint.close();
      await server.close();
    },
  };
}

/** Starts the client and runs until its first Register has been answered. */
async function started(r: Rig): Promise<void> {
  const done = r.client.start();
  await flush();
  await done;
}

describe('Lwm2mClient registration', () => {
  it('registers with endpoint name, lifetime from /1/x/1, version, binding, extra query and object links', async () => {
    const r = await rig({ extraQuery: () => ['tk=abc'] });
    await started(r);
    expect(r.client.state).toBe('registered');
    const reg = r.server.log[0]!;
    expect(reg.kind).toBe('register');
    expect(reg.query).toEqual(['ep=dev1', 'lt=300', 'lwm2m=1.1', 'b=U', 'tk=abc']);
    expect(reg.contentFormat).toBe(40);
    expect(reg.payload).toBe('</>;rt="oma.lwm2m";ct=11542,</1/0>,</3>;ver=1.1,</3/0>,</10250/0>');
    expect(r.events[0]).toEqual(['registered', { location: ['rd', '1'], lifetime: 300 }]);
    expect(r.client.location).toEqual(['rd', '1']);
    await r.close();
  });

  it('registers afresh on reregister(), picking up a renewed extra query item', async () => {
    let token = 'one';
    const r = await rig({ extraQuery: () => [`tk=${token}`] });
    await started(r);
    token = 'two';
    const again = r.client.reregister();
    await flush();
    await again;
    const regs = r.server.log.filter((e) => e.kind === 'register');
    expect(regs.map((e) => e.query.at(-1))).toEqual(['tk=one', 'tk=two']);
    expect(r.client.location).toEqual(['rd', '2']);
    expect(r.server.registrations.size).toBe(1);
    await r.close();
  });

  it('sends an Update before the lifetime runs out, carrying nothing that did not change', async () => {
    const r = await rig();
    await started(r);
    const due = defaultUpdateAfter(300) * 1000;
    expect(due).toBeLessThan(300_000 - 93_000 + 1);
    r.clock.advance(due - 1);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'update')).toHaveLength(0);
    r.clock.advance(1);
    await flush();
    const updates = r.server.log.filter((e) => e.kind === 'update');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ path: ['rd', '1'], query: [], payload: '' });
    // and again one period later
    r.clock.advance(due);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'update')).toHaveLength(2);
    await r.close();
  });

  it('sends an Update with lt= when the server writes the Lifetime, and with links when instances change', async () => {
    const r = await rig();
    await started(r);
    const w = r.server.write('dev1', '/1/0/1', '600', ContentFormat.TEXT);
    await flush();
    expect((await w).code).toBe('2.04');
    r.clock.advance(0);
    await flush();
    const up = r.server.log.filter((e) => e.kind === 'update');
    expect(up).toHaveLength(1);
    expect(up[0]).toMatchObject({ query: ['lt=600'], payload: '' });
    expect(r.server.findRegistration('dev1')!.lifetime).toBe(600);

    r.client.addInstance(new TestConfig(1));
    r.client.addInstance(new TestConfig(2));
    r.clock.advance(0);
    await flush();
    const up2 = r.server.log.filter((e) => e.kind === 'update');
    // two additions in one go make one Update
    expect(up2).toHaveLength(2);
    expect(up2[1]).toMatchObject({ query: [], payload: '</>;rt="oma.lwm2m";ct=11542,</1/0>,</3>;ver=1.1,</3/0>,</10250/0>,</10250/1>,</10250/2>' });
    expect(r.events.filter(([n]) => n === 'updated').map(([, e]) => e)).toEqual([
      { location: ['rd', '1'], links: false, lifetime: 600 },
      { location: ['rd', '1'], links: true },
    ]);
    // the next periodic Update follows the new lifetime
    r.clock.advance(defaultUpdateAfter(600) * 1000);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'update')).toHaveLength(3);
    await r.close();
  });

  it('registers again when an Update gets 4.04, ending observations', async () => {
    const r = await rig();
    await started(r);
    const obs = r.server.observe('dev1', '/3/0/9');
    await flush();
    expect((await obs).response.observe).toBe(0);
    expect(r.client.observations.observations.size).toBe(1);
    r.server.forget('dev1');
    await r.client.update();
    await flush();
    expect(r.server.log.map((e) => [e.kind, e.code])).toEqual([['register', '2.01'], ['update', '4.04'], ['register', '2.01']]);
    expect(r.client.location).toEqual(['rd', '2']);
    expect(r.client.state).toBe('registered');
    expect(r.client.observations.observations.size).toBe(0);
    await r.close();
  });

  it('retries with exponential backoff while the server refuses or does not answer', async () => {
    const r = await rig();
    r.server.intercept = () => ({ code: '5.03' });
    await started(r);
    expect(r.client.state).toBe('waiting');
    const failures = () => r.events.filter(([n]) => n === 'registration-failed').map(([, e]) => e as { attempt: number; retryInMs: number; code?: string });
    expect(failures()).toEqual([expect.objectContaining({ attempt: 1, retryInMs: 1000, code: '5.03' })]);
    r.clock.advance(1000);
    await flush();
    expect(failures().map((f) => f.retryInMs)).toEqual([1000, 2000]);
    // now the server drops requests: the CoAP exchange times out (1 retransmission at 1 s, 2 s wait)
    r.server.intercept = undefined;
    r.server.down = true;
    r.clock.advance(2000);
    await flush();
    for (let i = 0; i < 6; i++) {
      r.clock.advance(1000);
      await flush();
    }
    expect(failures().length).toBeGreaterThanOrEqual(3);
    expect(failures()[2]!.retryInMs).toBe(4000);
    expect(failures()[2]!.code).toBeUndefined();
    r.server.down = false;
    for (let i = 0; i < 20 && r.client.state !== 'registered'; i++) {
      r.clock.advance(1000);
      await flush();
    }
    expect(r.client.state).toBe('registered');
    // backoff is capped
    expect(Math.max(...failures().map((f) => f.retryInMs))).toBeLessThanOrEqual(8000);
    await r.close();
  });

  it('de-registers on stop and refuses requests afterwards', async () => {
    const r = await rig();
    await started(r);
    const stopping = r.client.stop();
    await flush();
    await stopping;
    expect(r.server.log.at(-1)).toMatchObject({ kind: 'deregister', path: ['rd', '1'], code: '2.02' });
    expect(r.server.registrations.size).toBe(0);
    expect(r.events.at(-1)).toEqual(['deregistered', { location: ['rd', '1'], reason: 'stop' }]);
    const after = r.server.requestTo(r.endpoint.address(), '/3/0/0', { method: 'GET' });
    await flush();
    expect((await after).code).toBe('5.03');
    await r.endpoint.close();
    await r.server.close();
  });

  it('sends an Update on Registration Update Trigger and honours Disable for Disable Timeout', async () => {
    const r = await rig({}, { disableTimeout: 30 });
    await started(r);
    const trig = r.server.execute('dev1', '/1/0/8');
    await flush();
    expect((await trig).code).toBe('2.04');
    // The Update starts once the 2.04 is out (the router's after-response task, a real macrotask).
    await afterResponse();
    r.clock.advance(0);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'update')).toHaveLength(1);

    const dis = r.server.execute('dev1', '/1/0/4');
    await flush();
    expect((await dis).code).toBe('2.04');
    await afterResponse();
    r.clock.advance(0);
    await flush();
    expect(r.client.state).toBe('disabled');
    expect(r.server.registrations.size).toBe(0);
    expect(r.events.at(-1)).toEqual(['deregistered', { location: ['rd', '1'], reason: 'disable' }]);
    r.clock.advance(29_999);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(1);
    r.clock.advance(1);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(2);
    expect(r.client.state).toBe('registered');
    await r.close();
  });

  it('refuses requests from any peer but its server with 4.03, changing nothing', async () => {
    const r = await rig();
    await started(r);
    const stranger = createCoapEndpoint(r.network.createTransport('10.0.0.66', 5683), { clock: r.clock });
    const res = stranger.request(r.endpoint.address(), { method: 'PUT', path: ['3', '0', '14'], contentFormat: 0, payload: utf8.encode('+05:00') });
    // same address as the server, another port
    const sibling = createCoapEndpoint(r.network.createTransport('10.0.0.2', 5684), { clock: r.clock });
    const res2 = sibling.request(r.endpoint.address(), { method: 'DELETE', path: ['10250', '0'] });
    await flush();
    expect((await res).code).toBe('4.03');
    expect((await res2).code).toBe('4.03');
    expect(r.client.registry.instance(10250, 0)).toBeDefined();
    const read = r.server.read('dev1', '/3/0/14');
    await flush();
    expect(new TextDecoder().decode((await read).payload)).toBe('+01:00');
    await stranger.close();
    await sibling.close();
    await r.close();
  });

  it('exposes the default periods of its Server instance and prefers /1/x/1 to the lifetime option', async () => {
    const r = await rig({ lifetime: 50, binding: 'UQ' }, { defaultMinimumPeriod: 5, defaultMaximumPeriod: 120 });
    expect(r.client.serverDefaults()).toEqual({ pmin: 5, pmax: 120 });
    expect(r.client.lifetime()).toBe(300);
    expect(r.client.binding()).toBe('U');
    r.client.removeInstance(1, 0);
    expect(r.client.serverDefaults()).toEqual({});
    expect(r.client.lifetime()).toBe(50);
    expect(r.client.binding()).toBe('UQ');
    await r.close();
  });
});
