// The server hub over real UDP: observations and their cancel, registrations expiring, objects the models lack still usable.
import { createUdpEndpoint, type CoapEndpoint } from '../../runtime/coap/index.js';
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { startServer, type RunningServer } from '../../server/cli.js';
import type { HubEvent } from '../../server/hub.js';
import { loadModels, type ModelSet } from '../../server/models.js';

const EP = 'hub-dev';
let running: RunningServer;
let device: SimpleDevice | undefined;
let events: HubEvent[];

async function start(models: ModelSet): Promise<void> {
  running = await startServer({ host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [] }, models);
  events = [];
  running.hub.subscribe((e) => events.push(e));
}

afterEach(async () => {
  await device?.stop();
  device = undefined;
  await running?.close();
});

async function until(check: () => boolean, ms = 8000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('timed out');
  }
}

test('observe sends each notification as an event with decoded values; cancel stops them and tells the device', async () => {
  await start(loadModels([]));
  device = await startSimpleDevice({ server: running.hub.servers[0]!.server.uri(), endpoint: EP, log: () => {} });
  const first = await running.hub.perform(EP, { op: 'observe', path: '/3/0/13' });
  expect(first.code).toBe('2.05');
  expect(running.hub.observed(EP)).toEqual(['/3/0/13']);
  await expect(running.hub.perform(EP, { op: 'observe', path: '/3/0/13' })).rejects.toThrow('already observed');
  const notifications = () => events.filter((e) => e.type === 'notification' && e.path === '/3/0/13');
  await until(() => notifications().length >= 3);
  const values = notifications().map((e) => (e.type === 'notification' ? e.result.values![0]!.number! : 0));
  expect(values[2]).toBeGreaterThan(values[0]!);
  const cancel = await running.hub.perform(EP, { op: 'cancel-observe', path: '/3/0/13' });
  expect(cancel.code).toBe('2.05');
  expect(running.hub.observed(EP)).toEqual([]);
  expect(events).toContainEqual({ type: 'observation', endpoint: EP, path: '/3/0/13', active: false });
  const after = notifications().length;
  await new Promise((r) => setTimeout(r, 2500));
  expect(notifications().length).toBe(after);
}, 20_000);

test('a client that neither updates nor de-registers is dropped once its lifetime has passed, and the log says why', async () => {
  await start(loadModels([]));
  const peer: CoapEndpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
  try {
    const res = await peer.request(running.hub.servers[0]!.server.address(), {
      method: 'POST', path: ['rd'], query: ['ep=short-lived', 'lt=1'], contentFormat: 40, payload: new TextEncoder().encode('</3/0>'),
    });
    expect(res.code).toBe('2.01');
    expect(running.hub.clients().map((c) => c.endpoint)).toEqual(['short-lived']);
    await until(() => running.hub.clients().length === 0, 5000);
    expect(running.hub.log.at(-1)).toMatchObject({ endpoint: 'short-lived', kind: 'registration', op: 'lifetime expired' });
    expect(events.filter((e) => e.type === 'clients').at(-1)).toEqual({ type: 'clients', clients: [] });
  } finally {
    await peer.close();
  }
}, 10_000);

test('objects the models lack are listed by id and still usable: read (self-describing formats), write as text', async () => {
  await start(loadModels([], { includeDefaults: false }));
  device = await startSimpleDevice({ server: running.hub.servers[0]!.server.uri(), endpoint: EP, log: () => {} });
  expect(running.hub.objectModels(EP)).toEqual([]);
  expect(running.hub.clients()[0]!.objects.map((o) => o.objectId)).toEqual([1, 3, 5, 26241]);
  const read = await running.hub.perform(EP, { op: 'read', path: '/3/0', format: 110 });
  expect(read.code).toBe('2.05');
  expect(read.values).toContainEqual({ path: '/3/0/0', text: 'lwm2m-gen' });
  expect((await running.hub.perform(EP, { op: 'write', path: '/3/0/14', value: 'UTC+03:00' })).code).toBe('2.04');
  expect((await running.hub.perform(EP, { op: 'read', path: '/3/0/14', format: 0 })).values).toEqual([{ path: '/3/0/14', text: 'UTC+03:00' }]);
  await expect(running.hub.perform(EP, { op: 'write', path: '/3/0/14', value: 'x', format: 11542 })).rejects.toThrow('can be written as text (format 0) only');
  // Without a model TLV cannot be decoded: the answer is shown raw, with why.
  const tlv = await running.hub.perform(EP, { op: 'read', path: '/3/0', format: 11542 });
  expect(tlv.text).toMatch(/not decoded/);
});

test('Create, Delete, Discover and Write-Attributes go out as the spec has them and the answers come back', async () => {
  await start(loadModels([]));
  device = await startSimpleDevice({ server: running.hub.servers[0]!.server.uri(), endpoint: EP, log: () => {} });
  const discover = await running.hub.perform(EP, { op: 'discover', path: '/3/0' });
  expect(discover.links?.map((l) => l.target)).toContain('/3/0/9');
  expect((await running.hub.perform(EP, { op: 'write-attributes', path: '/3/0/9', attributes: 'pmin=1&pmax=30' })).code).toBe('2.04');
  const d = await running.hub.perform(EP, { op: 'discover', path: '/3/0/9' });
  expect(d.links![0]!.attributes).toMatch(/pmin=1;pmax=30/);
  expect((await running.hub.perform(EP, { op: 'delete', path: '/26241/0' })).code).toBe('2.02');
  const created = await running.hub.perform(EP, { op: 'create', path: '/26241', values: { 0: 'logLevel', 1: 'debug' } });
  expect(created).toMatchObject({ code: '2.01', location: expect.stringMatching(/^\/26241\/\d+$/) });
  const exec = await running.hub.perform(EP, { op: 'execute', path: `${created.location}/2` });
  expect(exec.code).toBe('2.04');
});
