// DeviceClient over real UDP: bootstrap then registration, several DM servers kept apart, Bootstrap-Request Trigger, a restart from the store.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { DeviceClient, type DeviceClientOptions, type DeviceEvents } from '../../../runtime/client/index.js';
import { FileStateStore } from '../../../runtime/store/index.js';
import { TestBootstrapServer, type BootstrapConfig } from 'lwm2m-gen/testing';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestDevice } from '../../support/objects.js';

const text = new TextDecoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const SECRET = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x42, 0x13, 0x37, 0x99]);
const SECRET_HEX = Buffer.from(SECRET).toString('hex');

let dm: TestLwm2mServer;
let dm2: TestLwm2mServer | undefined;
let bs: TestBootstrapServer;
let devices: DeviceClient[] = [];
let dir: string;
/** Every event and error text the devices produced, to check no key shows. */
let said: string[] = [];

beforeEach(async () => {
  dm = await TestLwm2mServer.start({ coap: fast });
  dir = await mkdtemp(join(tmpdir(), 'device-client-'));
  said = [];
});

afterEach(async () => {
  for (const d of devices) await d.stop({ deregister: true });
  devices = [];
  await bs?.close();
  await dm.close();
  await dm2?.close();
  dm2 = undefined;
  await rm(dir, { recursive: true, force: true });
});

const dmUri = (s: TestLwm2mServer): string => `coap://127.0.0.1:${s.address().port}`;

async function bootstrapServer(config: (ep: string) => BootstrapConfig | undefined): Promise<TestBootstrapServer> {
  bs = await TestBootstrapServer.start({ coap: fast, config });
  return bs;
}

function device(ep: string, options: Partial<DeviceClientOptions> = {}): DeviceClient {
  const d = new DeviceClient({
    endpointName: ep,
    factory: { security: [{ uri: bs.uri(), bootstrap: true }] },
    transport: { coap: fast },
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    bootstrap: { schedule: (n) => (n < 3 ? 50 : undefined), idleTimeoutMs: 2000 },
    ...options,
  });
  d.addInstance(new TestDevice());
  const events: Array<keyof DeviceEvents> = ['bootstrap', 'restored', 'state-problem', 'registered', 'error'];
  for (const name of events) d.on(name, (e: unknown) => said.push(`${name} ${e instanceof Error ? e.message : JSON.stringify(e)}`));
  d.on('server', ({ client }) => {
    client.on('request', (e) => said.push(`request ${JSON.stringify(e)}`));
    client.on('error', (e) => said.push(`error ${e.message}`));
  });
  devices.push(d);
  return d;
}

function noSecretSaid(): void {
  const all = said.join('\n');
  expect(all).not.toContain(SECRET_HEX);
  expect(all).not.toContain(Buffer.from(SECRET).toString('base64'));
  expect(all).not.toContain(Buffer.from(SECRET).toString('latin1'));
}

describe('client-initiated bootstrap', () => {
  it('is provisioned by the bootstrap server, registers with the DM server it names and answers its Reads; /0 stays hidden', async () => {
    await bootstrapServer((ep) => (ep === 'bs-1' ? { servers: [{ uri: dmUri(dm), shortServerId: 101, lifetime: 120 }] } : undefined));
    const d = device('bs-1');
    const registered = d.next('registered');
    await d.start();
    expect((await registered).shortServerId).toBe(101);
    expect(bs.requests.map((r) => r.endpoint)).toEqual(['bs-1']);
    expect(bs.log.map((e) => `${e.method} ${e.path} ${e.code}`)).toEqual([
      'DELETE / 2.02', 'PUT /0/1 2.04', 'PUT /1/1 2.04', 'POST /bs 2.04',
    ]);
    const reg = dm.findRegistration('bs-1')!;
    expect(reg.query).toEqual(expect.arrayContaining(['lt=120']));
    expect(reg.links).not.toMatch(/<\/0[/>]/);
    expect(text.decode((await dm.read('bs-1', '/3/0/0', ContentFormat.TEXT)).payload)).toBe('ACME');
    expect(text.decode((await dm.read('bs-1', '/1/1/0', ContentFormat.TEXT)).payload)).toBe('101');
    // A DM server never reaches /0, whatever the operation.
    expect((await dm.read('bs-1', '/0')).code).toBe('4.01');
    expect((await dm.read('bs-1', '/0/1')).code).toBe('4.01');
    expect((await dm.discover('bs-1', '/0')).code).toBe('4.01');
    expect((await dm.write('bs-1', '/0/1/0', 'coap://evil', ContentFormat.TEXT)).code).toBe('4.01');
    expect((await dm.execute('bs-1', '/0/1/0')).code).toBe('4.01');
    const steps = said.filter((s) => s.startsWith('bootstrap ')).map((s) => JSON.parse(s.slice(10)).step);
    expect(steps).toEqual(['request', 'delete', 'write', 'write', 'finish', 'done']);
  });

  it('refuses at Finish (4.06) a PSK account whose URI is not secure, and no key reaches an event, an error or the request log', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 7, pskIdentity: 'dev-7', pskKey: SECRET }] }));
    // The URI is coap:// with a PSK: Finish refuses that (4.06) and says why without the key.
    const d = device('bs-psk', { bootstrap: { schedule: () => undefined, idleTimeoutMs: 1000 } });
    await expect(d.start()).rejects.toThrow(/bootstrap failed/);
    expect(bs.log.at(-1)).toMatchObject({ path: '/bs', code: '4.06' });
    noSecretSaid();
  });

  it('refuses a bad Bootstrap-Write with 4.00 and keeps nothing of it; an inconsistent Finish is 4.06 and commits nothing', async () => {
    let observed: string[] = [];
    bs = await TestBootstrapServer.start({
      coap: fast,
      script: async (s) => {
        // Security Mode 9 is outside 0..4: refused, and /0/5 must not appear in the staging.
        const bad = await s.writeRaw('/0/5/2', new TextEncoder().encode('9'), ContentFormat.TEXT);
        const garbage = await s.writeRaw('/0/5', new Uint8Array([0xff, 0xff, 0xff]), ContentFormat.TLV);
        const discover = await s.discover('/');
        // /1 without a /0 account of its Short Server ID: inconsistent.
        await s.write('/1/3', [{ path: { objectId: 1, instanceId: 3, resourceId: 0 }, value: 55 }, { path: { objectId: 1, instanceId: 3, resourceId: 1 }, value: 60 }]);
        const finish = await s.finish();
        const read = await s.read('/1/3/0', ContentFormat.TEXT);
        const readSecurity = await s.read('/0/0');
        observed = [bad.code, garbage.code, discover.links, finish.code, text.decode(finish.payload), read.code, text.decode(read.payload), readSecurity.code];
      },
    });
    const d = device('bs-bad', { bootstrap: { schedule: () => undefined, idleTimeoutMs: 500 } });
    await expect(d.start()).rejects.toThrow(/bootstrap failed/);
    await bs.settled();
    expect(observed[0]).toBe('4.00');
    expect(observed[1]).toBe('4.00');
    expect(observed[2]).toBe(`</>;lwm2m=1.1,</0>;ver=1.2,</0/0>;uri="${bs.uri()}",</1>;ver=1.2,</3>;ver=1.1,</3/0>`);
    expect(observed[3]).toBe('4.06');
    expect(observed[4]).toMatch(/no LwM2M Server account/);
    expect(observed.slice(5, 7)).toEqual(['2.05', '55']);
    expect(observed[7]).toBe('4.01');
    // Nothing was committed: the device still has only its bootstrap account and no /1.
    expect(d.accounts().map((a) => a.instanceId)).toEqual([0]);
    expect(d.registry.instances(1)).toEqual([]);
  });

  it('retries the Bootstrap-Request with backoff when the bootstrap server refuses it, then gives up', async () => {
    await bootstrapServer(() => undefined);
    const d = device('bs-none', { bootstrap: { schedule: (n) => (n < 3 ? 30 : undefined) } });
    await expect(d.start()).rejects.toThrow(/after 3 attempt\(s\): Bootstrap-Request answered 4.00/);
    const steps = said.filter((s) => s.startsWith('bootstrap ')).map((s) => JSON.parse(s.slice(10)).step);
    expect(steps).toEqual(['request', 'retry', 'request', 'retry', 'request', 'failed']);
  });
});

describe('several DM servers', () => {
  it('keeps one registration, observations and attributes per server; one server cannot change the other\'s /1', async () => {
    dm2 = await TestLwm2mServer.start({ coap: fast });
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1 }, { uri: dmUri(dm2!), shortServerId: 2 }] }));
    const d = device('multi');
    const both = new Promise<void>((resolve) => {
      const seen = new Set<number>();
      d.on('registered', (e) => { seen.add(e.shortServerId); if (seen.size === 2) resolve(); });
    });
    await d.start();
    await both;
    expect(dm.findRegistration('multi')).toBeDefined();
    expect(dm2.findRegistration('multi')).toBeDefined();
    const obs1 = await dm.observe('multi', '/3/0/9', ContentFormat.TEXT);
    expect((await dm2.writeAttributes('multi', '/3/0/9', ['pmin=1'])).code).toBe('2.04');
    const clients = d.clients();
    expect(clients.get(1)!.observations.observations.size).toBe(1);
    expect(clients.get(2)!.observations.observations.size).toBe(0);
    expect(clients.get(1)!.attributes.get({ objectId: 3, instanceId: 0, resourceId: 9 })).toEqual({});
    expect(clients.get(2)!.attributes.get({ objectId: 3, instanceId: 0, resourceId: 9 })).toEqual({ pmin: 1 });
    // Server 1 may read server 2's /1 instance but not change or execute it.
    expect((await dm.read('multi', '/1/2/0', ContentFormat.TEXT)).code).toBe('2.05');
    expect((await dm.write('multi', '/1/2/1', '50', ContentFormat.TEXT)).code).toBe('4.01');
    expect((await dm.execute('multi', '/1/2/8')).code).toBe('4.01');
    expect((await dm.execute('multi', '/1/2/4')).code).toBe('4.01');
    // Its own Registration Update Trigger updates only its own registration.
    const updates2 = dm2.findRegistration('multi')!.updates;
    const updated = clients.get(1)!.next('updated');
    expect((await dm.execute('multi', '/1/1/8')).code).toBe('2.04');
    await updated;
    expect(dm2.findRegistration('multi')!.updates).toBe(updates2);
    (d.registry.instance(3, 0) as TestDevice).batteryLevel = 50;
    expect(text.decode((await obs1.next()).payload)).toBe('50');
  });
});

describe('server-initiated bootstrap', () => {
  it('a DM server executing /1/x/9 makes the device bootstrap again and register with what it is given now', async () => {
    dm2 = await TestLwm2mServer.start({ coap: fast });
    let round = 0;
    await bootstrapServer(() => (++round === 1
      ? { servers: [{ uri: dmUri(dm), shortServerId: 1 }] }
      : { servers: [{ uri: dmUri(dm2!), shortServerId: 2 }] }));
    const d = device('trigger');
    await d.start();
    await dm.waitFor('register');
    const again = new Promise<void>((resolve) => d.on('registered', (e) => { if (e.shortServerId === 2) resolve(); }));
    expect((await dm.execute('trigger', '/1/1/9')).code).toBe('2.04');
    await again;
    expect(bs.requests.length).toBe(2);
    expect(dm2.findRegistration('trigger')).toBeDefined();
    await dm.waitFor('deregister');
    expect([...d.clients().keys()]).toEqual([2]);
  });
});

describe('bootstrap after registration failures', () => {
  it('bootstraps again once the retry schedule gives up on a server that never answers, and registers with the new one', async () => {
    dm2 = await TestLwm2mServer.start({ coap: fast });
    const silent = await TestLwm2mServer.start({ coap: fast });
    const silentUri = dmUri(silent);
    await silent.close();
    let round = 0;
    await bootstrapServer(() => (++round === 1
      ? { servers: [{ uri: silentUri, shortServerId: 1 }] }
      : { servers: [{ uri: dmUri(dm2!), shortServerId: 2 }] }));
    const d = device('fallback', { retry: { schedule: (n) => (n < 2 ? 20 : undefined) } });
    const registered = d.next('registered');
    await d.start();
    expect((await registered).shortServerId).toBe(2);
    expect(bs.requests.length).toBe(2);
    expect(dm2.findRegistration('fallback')).toBeDefined();
  });
});

describe('state that survives a restart', () => {
  it('resumes with an Update to the stored location, no new bootstrap, and an observation made before keeps notifying', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1, lifetime: 300 }] }));
    const store = join(dir, 'state');
    const first = device('keep', { store: new FileStateStore(store) });
    await first.start();
    await dm.waitFor('register');
    const location = dm.findRegistration('keep')!.id;
    const obs = await dm.observe('keep', '/3/0/9', ContentFormat.TEXT);
    (first.registry.instance(3, 0) as TestDevice).batteryLevel = 60;
    expect(text.decode((await obs.next()).payload)).toBe('60');
    await first.stop();
    devices = devices.filter((x) => x !== first);
    expect((await readFile(store, 'utf8')).includes(SECRET_HEX)).toBe(false);

    said = [];
    const second = device('keep', { store: new FileStateStore(store) });
    const updates = dm.findRegistration('keep')!.updates;
    await second.start();
    expect(bs.requests.length).toBe(1);
    expect(dm.findRegistration('keep')!.id).toBe(location);
    expect(dm.findRegistration('keep')!.updates).toBe(updates + 1);
    const restored = said.filter((s) => s.startsWith('restored ')).map((s) => JSON.parse(s.slice(9)).item);
    expect(restored).toEqual(expect.arrayContaining(['security', 'server', 'registration', 'observation']));
    (second.registry.instance(3, 0) as TestDevice).batteryLevel = 61;
    const n = await obs.next();
    expect(text.decode(n.payload)).toBe('61');
    expect(n.observe).toBeGreaterThan(obs.notifications[0]!.observe!);
  });

  it('registers again when the server answers the resumed Update with 4.04', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1 }] }));
    const store = join(dir, 'state');
    const first = device('gone', { store: new FileStateStore(store) });
    await first.start();
    await dm.waitFor('register');
    await first.stop();
    devices = devices.filter((x) => x !== first);
    dm.forget('gone');
    const second = device('gone', { store: new FileStateStore(store) });
    const registered = second.next('registered');
    await second.start();
    await registered;
    expect(dm.findRegistration('gone')).toBeDefined();
    expect(bs.requests.length).toBe(1);
  });

  it('lets the app keep its own section (the firmware state) in the same document', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1 }] }));
    const store = join(dir, 'state');
    const first = device('fw-state', { store: new FileStateStore(store) });
    const firmware = (await first.openState())!.section<{ state: number }>('firmware');
    await first.start();
    await firmware.save({ state: 2 });
    await first.stop();
    devices = devices.filter((x) => x !== first);
    const second = device('fw-state', { store: new FileStateStore(store) });
    expect((await second.openState())!.section<{ state: number }>('firmware').load()).toEqual({ state: 2 });
    expect((await second.openState())!.names()).toEqual(['firmware', 'security', 'servers', 'sessions']);
  });

  it('reports a corrupt store and falls back to factory bootstrap', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1 }] }));
    const store = join(dir, 'state');
    await writeFile(store, 'lwm2m-gen-state 1 0000\n{"security": []}\n');
    const d = device('corrupt', { store: new FileStateStore(store) });
    const problem = d.next('state-problem');
    await d.start();
    expect((await problem).message).toMatch(/checksum does not match/);
    expect(bs.requests.length).toBe(1);
    await dm.waitFor('register');
  });
});

describe('notifications held across a restart', () => {
  it('keeps what it held for an unreachable server in the store and delivers it after the restart resumes the registration', async () => {
    await bootstrapServer(() => ({ servers: [{ uri: dmUri(dm), shortServerId: 1, lifetime: 300 }] }));
    const store = join(dir, 'state');
    const first = device('held', { store: new FileStateStore(store), client: { preferredFormat: ContentFormat.SENML_JSON } });
    await first.start();
    await dm.waitFor('register');
    // The server turns Notification Storing on (its own /1 instance: /1/1 after bootstrap).
    expect((await dm.write('held', '/1/1/6', '1', ContentFormat.TEXT)).code).toBe('2.04');
    const obs = await dm.observe('held', '/3/0/9', ContentFormat.SENML_JSON);
    dm.down = true;
    const client = first.clients().get(1)!;
    const failed = client.next('registration-failed');
    void client.update();
    await failed;
    (first.registry.instance(3, 0) as TestDevice).batteryLevel = 44;
    await new Promise((r) => setTimeout(r, 30));
    (first.registry.instance(3, 0) as TestDevice).batteryLevel = 33;
    await new Promise((r) => setTimeout(r, 30));
    await first.stop();
    devices = devices.filter((x) => x !== first);
    expect(await readFile(store, 'utf8')).toContain('"notifications/1"');

    dm.down = false;
    const second = device('held', { store: new FileStateStore(store), client: { preferredFormat: ContentFormat.SENML_JSON } });
    await second.start();
    while (obs.notifications.length < 2) await obs.next();
    expect(obs.notifications.map((n) => (JSON.parse(text.decode(n.payload)) as Array<{ v: number; bt: number }>)[0]!.v)).toEqual([44, 33]);
    // The last one leaves the store once its ACK is in (one still unacknowledged at a stop is kept and sent again).
    while (second.clients().get(1)!.outbox.queue.size > 0) await new Promise((r) => setTimeout(r, 10));
    await second.stop();
    devices = devices.filter((x) => x !== second);
    expect(await readFile(store, 'utf8')).not.toContain('"notifications/1"');
  });
});
