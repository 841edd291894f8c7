// DeviceClient: the Bootstrap-Server Account Timeout (/0/x/12) purges the account on time, also across a restart; opted-in writable values come back after one.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { ManualClock } from '../../../runtime/coap/index.js';
import { DeviceClient, type DeviceClientOptions, type DeviceEvents } from '../../../runtime/client/index.js';
import { FileStateStore, MemoryStateStore, PersistentState } from '../../../runtime/store/index.js';
import { TestBootstrapServer, TestLwm2mServer } from 'lwm2m-gen/testing';
import { ConfigDef, TestConfig, TestDevice } from '../../support/objects.js';

const text = new TextDecoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };

let dm: TestLwm2mServer;
let bs: TestBootstrapServer;
let devices: DeviceClient[] = [];
let dir: string;
let said: string[] = [];

beforeEach(async () => {
  dm = await TestLwm2mServer.start({ coap: fast });
  dir = await mkdtemp(join(tmpdir(), 'device-restore-'));
  said = [];
});

afterEach(async () => {
  for (const d of devices) await d.stop({ deregister: true });
  devices = [];
  await bs?.close();
  await dm.close();
  await rm(dir, { recursive: true, force: true });
});

const dmUri = (): string => `coap://127.0.0.1:${dm.address().port}`;

function device(ep: string, options: Partial<DeviceClientOptions> = {}): DeviceClient {
  const d = new DeviceClient({
    endpointName: ep,
    factory: { security: [{ uri: bs.uri(), bootstrap: true }] },
    transport: { coap: fast },
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    bootstrap: { schedule: () => undefined, idleTimeoutMs: 2000 },
    ...options,
  });
  d.addInstance(new TestDevice());
  const events: Array<keyof DeviceEvents> = ['bootstrap', 'restored', 'state-problem', 'error'];
  for (const name of events) d.on(name, (e: unknown) => said.push(`${name} ${e instanceof Error ? e.message : JSON.stringify(e)}`));
  devices.push(d);
  return d;
}

async function stopped(d: DeviceClient): Promise<void> {
  await d.stop();
  devices = devices.filter((x) => x !== d);
}

/** A bootstrap server that provisions one DM server and rewrites the bootstrap account with an Account Timeout. */
async function bootstrapWithTimeout(seconds: number): Promise<void> {
  bs = await TestBootstrapServer.start({ coap: fast, config: () => ({ servers: [{ uri: dmUri(), shortServerId: 1 }], bootstrapAccount: { uri: bs.uri(), accountTimeout: seconds } }) });
}

describe('Bootstrap-Server Account Timeout (/0/x/12)', () => {
  it('purges the bootstrap account that long after the Finish, keeps the DM account, and then a /1/x/9 leaves the device registered', async () => {
    await bootstrapWithTimeout(30);
    const clock = new ManualClock();
    let wall = 1_700_000_000_000;
    const store = new MemoryStateStore();
    const d = device('purge', { clock, wallClock: () => wall, store });
    await d.start();
    await dm.waitFor('register');
    expect(d.accounts().map((a) => [a.instanceId, a.bootstrap])).toEqual([[0, true], [1, false]]);
    wall += 29_999;
    clock.advance(29_999);
    expect(d.accounts().some((a) => a.bootstrap)).toBe(true);
    wall += 1;
    clock.advance(1);
    expect(d.accounts().map((a) => [a.instanceId, a.bootstrap])).toEqual([[1, false]]);
    expect(said).toContain('bootstrap {"step":"account-removed","path":"/0/0","seconds":30}');
    // The purge is saved: the store's /0 holds the DM account only.
    await (await d.openState())!.flush();
    const saved = (await PersistentState.open(store)).state.section<Array<{ instanceId: number }>>('security').load()!;
    expect(saved.map((i) => i.instanceId)).toEqual([1]);
    // With no bootstrap account left, a Bootstrap-Request Trigger cannot bootstrap: the device stays with its server.
    const error = d.next('error');
    expect((await dm.execute('purge', '/1/1/9')).code).toBe('2.04');
    expect((await error).message).toMatch(/no Bootstrap-Server account in \/0 \(none was configured, or its Account Timeout purged it\)/);
    expect(d.clients().get(1)!.state).toBe('registered');
    expect(text.decode((await dm.read('purge', '/3/0/0', ContentFormat.TEXT)).payload)).toBe('ACME');
    expect(bs.requests.length).toBe(1);
  });

  it('keeps the deadline across a restart: neither forgotten nor extended, and purged at start once it has passed', async () => {
    await bootstrapWithTimeout(60);
    const path = join(dir, 'state');
    let wall = 1_700_000_000_000;
    const first = device('deadline', { clock: new ManualClock(), wallClock: () => wall, store: new FileStateStore(path) });
    await first.start();
    await dm.waitFor('register');
    await stopped(first);
    const copy = join(dir, 'state-copy');
    await copyFile(path, copy);

    // 40 s later the device starts again: 20 s are left, not 60.
    wall += 40_000;
    const clock = new ManualClock();
    const second = device('deadline', { clock, wallClock: () => wall, store: new FileStateStore(path) });
    await second.start();
    expect(second.accounts().some((a) => a.bootstrap)).toBe(true);
    wall += 19_999;
    clock.advance(19_999);
    expect(second.accounts().some((a) => a.bootstrap)).toBe(true);
    wall += 1;
    clock.advance(1);
    expect(second.accounts().some((a) => a.bootstrap)).toBe(false);
    await stopped(second);

    // The same state started 10 s past the deadline: purged at start, before any server is contacted.
    wall += 10_000;
    said = [];
    const third = device('deadline', { clock: new ManualClock(), wallClock: () => wall, store: new FileStateStore(copy) });
    await third.start();
    expect(third.accounts().map((a) => [a.instanceId, a.bootstrap])).toEqual([[1, false]]);
    expect(said).toContain('bootstrap {"step":"account-removed","path":"/0/0","seconds":60}');
    expect(bs.requests.length).toBe(1);
  });

  it('waits out a timeout longer than a Node timer can hold (2^31 ms) in steps, without firing early', async () => {
    const days30 = 30 * 86_400;
    await bootstrapWithTimeout(days30);
    const asked: number[] = [];
    const manual = new ManualClock();
    const clock = {
      now: () => manual.now(),
      setTimeout: (cb: () => void, ms: number) => { asked.push(ms); return manual.setTimeout(cb, ms); },
      clearTimeout: (h: unknown) => manual.clearTimeout(h),
    };
    let wall = 1_700_000_000_000;
    const d = device('long', { clock, wallClock: () => wall });
    await d.start();
    await dm.waitFor('register');
    expect(Math.max(...asked)).toBeLessThanOrEqual(2 ** 31 - 1);
    for (let day = 1; day < 30; day++) {
      wall += 86_400_000;
      manual.advance(86_400_000);
    }
    expect(d.accounts().some((a) => a.bootstrap)).toBe(true);
    wall += 86_400_000;
    manual.advance(86_400_000);
    expect(d.accounts().some((a) => a.bootstrap)).toBe(false);
  });
});

describe('opted-in writable values (persistValues)', () => {
  async function configDevice(ep: string, store: FileStateStore, openFirst = false): Promise<DeviceClient> {
    const d = device(ep, { store, persistValues: [ConfigDef.id] });
    // An app that opens the state before adding its objects (for its firmware section, say) must not save over the values.
    if (openFirst) await d.openState();
    d.addObject(ConfigDef, { create: (id) => new TestConfig(id) }).addInstance(new TestConfig(0)).addInstance(new TestConfig(2));
    return d;
  }
  const config = (d: DeviceClient, id: number): TestConfig | undefined => d.registry.instance(ConfigDef.id, id) as TestConfig | undefined;

  it('come back after a restart: server writes, an instance the server created, none it deleted', async () => {
    bs = await TestBootstrapServer.start({ coap: fast, config: () => ({ servers: [{ uri: dmUri(), shortServerId: 1 }] }) });
    const path = join(dir, 'state');
    const first = await configDevice('values', new FileStateStore(path));
    await first.start();
    await dm.waitFor('register');
    expect((await dm.write('values', '/10250/0/1', '7', ContentFormat.TEXT)).code).toBe('2.04');
    expect((await dm.write('values', '/10250/0/5', new Uint8Array([1, 2, 254]), ContentFormat.OPAQUE)).code).toBe('2.04');
    const senml = '[{"bn":"/10250/5/","n":"0","vs":"made"},{"n":"1","v":3},{"n":"2/0","vs":"a"},{"n":"2/4","vs":"b"}]';
    expect((await dm.create('values', '/10250', senml, ContentFormat.SENML_JSON)).code).toBe('2.01');
    expect((await dm.delete('values', '/10250/2')).code).toBe('2.02');
    await stopped(first);

    said = [];
    const second = await configDevice('values', new FileStateStore(path), true);
    await second.start();
    expect(config(second, 0)!.level).toBe(7);
    expect(config(second, 0)!.readResource(5)).toEqual(new Uint8Array([1, 2, 254]));
    expect(config(second, 5)!.name).toBe('made');
    expect(config(second, 5)!.level).toBe(3);
    expect(config(second, 5)!.readResource(2)).toEqual(new Map([[0, 'a'], [4, 'b']]));
    expect(config(second, 2)).toBeUndefined();
    const restored = said.filter((l) => l.startsWith('restored ')).map((l) => JSON.parse(l.slice(9)));
    expect(restored).toEqual(expect.arrayContaining([{ item: 'values', detail: '/10250/0' }, { item: 'values', detail: '/10250/5' }]));
    expect(text.decode((await dm.read('values', '/10250/5/0', ContentFormat.TEXT)).payload)).toBe('made');
  });

  it('a stored value the app now refuses is reported, and the device starts with the app\'s value', async () => {
    bs = await TestBootstrapServer.start({ coap: fast, config: () => ({ servers: [{ uri: dmUri(), shortServerId: 1 }] }) });
    const path = join(dir, 'state');
    const first = await configDevice('refused', new FileStateStore(path));
    await first.start();
    await dm.waitFor('register');
    expect((await dm.write('refused', '/10250/0/3', '5', ContentFormat.TEXT)).code).toBe('2.04');
    await stopped(first);
    // The app's hook refuses mode 98 now (as a new app version may refuse what an old one took).
    const opened = (await PersistentState.open(new FileStateStore(path))).state;
    const values = opened.section<Record<string, Array<[number, unknown]>>>('values');
    const stored = values.load()!;
    await values.save({ ...stored, '10250/0': stored['10250/0']!.map(([rid, v]) => [rid, rid === 3 ? 98 : v]) });

    said = [];
    const second = await configDevice('refused', new FileStateStore(path));
    await second.start();
    expect(said.find((l) => l.startsWith('state-problem '))).toMatch(/stored values of \/10250\/0: mode 98 is refused; the instance keeps the app's/);
    expect(config(second, 0)!.mode).toBeUndefined();
    expect(second.clients().get(1)!.state).toBe('registered');
  });
});

describe('Bootstrap-Write to an app object, end to end', () => {
  it('is applied at the Finish, read by the DM server, and (opted in) kept across a restart', async () => {
    const utf8 = new TextEncoder();
    bs = await TestBootstrapServer.start({
      coap: fast,
      script: async (s) => {
        await s.writeRaw('/10250/0/1', utf8.encode('6'), ContentFormat.TEXT);
        await s.writeRaw('/10250/3/0', utf8.encode('from-bootstrap'), ContentFormat.TEXT);
        await s.provision({ servers: [{ uri: dmUri(), shortServerId: 1 }] });
      },
    });
    const path = join(dir, 'state');
    const make = (): DeviceClient => {
      const d = device('bs-app', { store: new FileStateStore(path), persistValues: [ConfigDef.id] });
      d.addObject(ConfigDef, { create: (id) => new TestConfig(id) }).addInstance(new TestConfig(0));
      return d;
    };
    const first = make();
    await first.start();
    await dm.waitFor('register');
    expect(bs.log.slice(0, 2).map((e) => `${e.method} ${e.path} ${e.code}`)).toEqual(['PUT /10250/0/1 2.04', 'PUT /10250/3/0 2.04']);
    expect(text.decode((await dm.read('bs-app', '/10250/0/1', ContentFormat.TEXT)).payload)).toBe('6');
    expect(text.decode((await dm.read('bs-app', '/10250/3/0', ContentFormat.TEXT)).payload)).toBe('from-bootstrap');
    expect(dm.findRegistration('bs-app')!.links).toContain('</10250/3>');
    await stopped(first);

    const second = make();
    await second.start();
    expect((second.registry.instance(ConfigDef.id, 0) as TestConfig).level).toBe(6);
    expect((second.registry.instance(ConfigDef.id, 3) as TestConfig).name).toBe('from-bootstrap');
    expect(bs.requests.length).toBe(1);
  });
});
