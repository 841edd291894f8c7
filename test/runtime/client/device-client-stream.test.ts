// DeviceClient over coap+tcp and coaps+tcp: observations end with their connection (RFC 8323 §7.3), after a restart or a dropped connection, so the device registers afresh; without any it Updates.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient, type DeviceEvents } from '../../../runtime/client/index.js';
import { FileStateStore } from '../../../runtime/store/index.js';
import { TestBootstrapServer } from 'lwm2m-gen/testing';
import { StreamRegistrationServer } from '../../support/stream-rd.js';
import { TestDevice } from '../../support/objects.js';

const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };

let rd: StreamRegistrationServer;
let bs: TestBootstrapServer;
let dir: string;
let devices: DeviceClient[] = [];
let said: string[] = [];

const KEY = Uint8Array.from(Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex'));

/** The DM server over `scheme` (coaps+tcp: TLS-PSK with KEY), provisioned by the bootstrap server. */
async function servers(scheme: 'coap+tcp' | 'coaps+tcp'): Promise<void> {
  const secure = scheme === 'coaps+tcp';
  rd = await new StreamRegistrationServer(secure ? KEY : undefined).start();
  bs = await TestBootstrapServer.start({
    coap: fast,
    config: () => ({ servers: [{ uri: `${scheme}://127.0.0.1:${rd.port}`, shortServerId: 1, ...(secure ? { pskIdentity: 'tcp-dev', pskKey: KEY } : {}) }] }),
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'device-stream-'));
  said = [];
});

afterEach(async () => {
  for (const d of devices) await d.stop({ deregister: true });
  devices = [];
  await bs.close();
  await rd.stop();
  await rm(dir, { recursive: true, force: true });
});

function device(): DeviceClient {
  const d = new DeviceClient({
    endpointName: 'tcp-dev',
    factory: { security: [{ uri: bs.uri(), bootstrap: true }] },
    store: new FileStateStore(join(dir, 'state')),
    transport: { coap: fast },
    bootstrap: { schedule: () => undefined, idleTimeoutMs: 2000 },
  });
  d.addInstance(new TestDevice());
  for (const name of ['restored', 'observations-ended', 'registered', 'error'] as Array<keyof DeviceEvents>) {
    d.on(name, (e: unknown) => said.push(`${name} ${e instanceof Error ? e.message : JSON.stringify(e)}`));
  }
  devices.push(d);
  return d;
}

async function stopped(d: DeviceClient): Promise<void> {
  await d.stop();
  devices = devices.filter((x) => x !== d);
}

const battery = (d: DeviceClient, level: number): void => { (d.registry.instance(3, 0) as TestDevice).batteryLevel = level; };

async function frame(pred: (f: StreamRegistrationServer['frames'][number]) => boolean): Promise<void> {
  for (let i = 0; i < 100 && !rd.frames.some(pred); i++) await new Promise((r) => setTimeout(r, 20));
  expect(rd.frames.some(pred)).toBe(true);
}

describe('a restart from the store over a stream transport', () => {
  it.each(['coap+tcp', 'coaps+tcp'] as const)('%s: does not notify the old token on the new connection, registers afresh, and notifies an observation made on the new one', async (scheme) => {
    await servers(scheme);
    const first = device();
    await first.start();
    expect([...rd.registrations]).toEqual([['1', 'tcp-dev']]);
    const before = await rd.observe('1', ['3', '0', '9']);
    expect(before.code).toBe('2.05');
    battery(first, 40);
    await frame((f) => f.token === before.token && f.payload === '40');
    await stopped(first);

    said = [];
    const second = device();
    await second.start();
    expect(said).toContain(`observations-ended ${JSON.stringify({
      shortServerId: 1, paths: ['/3/0/9'],
      reason: `${scheme}:// observations end with their connection (RFC 8323 §7.3); registering afresh so the server observes again`,
    })}`);
    expect(said.some((l) => l.startsWith('restored {"item":"observation"'))).toBe(false);
    // A Register, not an Update to /rd/1: the server learns that what it observed is gone.
    expect(rd.updates).toBe(0);
    expect(rd.registrations.get('2')).toBe('tcp-dev');
    battery(second, 41);
    const after = await rd.observe('2', ['3', '0', '9']);
    expect(after.connection).toBeGreaterThan(before.connection);
    battery(second, 42);
    await frame((f) => f.token === after.token && f.payload === '42');
    expect(rd.frames.filter((f) => f.token === before.token && f.connection !== before.connection)).toEqual([]);
    expect(second.clients().get(1)!.observations.observations.size).toBe(1);
    if (scheme === 'coaps+tcp') expect(rd.identities).toEqual(['tcp-dev', 'tcp-dev']);
    expect(said.join('\n')).not.toContain(Buffer.from(KEY).toString('hex'));
  });

  it('coap+tcp: a connection dropped under a running device ends its observations; it registers afresh on a new connection', async () => {
    await servers('coap+tcp');
    const d = device();
    await d.start();
    const before = await rd.observe('1', ['3', '0', '9']);
    const ended = d.next('observations-ended');
    const registered = d.next('registered');
    rd.dropConnections();
    expect((await ended).paths).toEqual(['/3/0/9']);
    await registered;
    expect(rd.registrations.get('2')).toBe('tcp-dev');
    battery(d, 30);
    const after = await rd.observe('2', ['3', '0', '9']);
    battery(d, 31);
    await frame((f) => f.token === after.token && f.payload === '31');
    expect(rd.frames.filter((f) => f.token === before.token && f.connection !== before.connection)).toEqual([]);
  });

  it('coap+tcp: without observations, a dropped connection is followed by an Update on a new one', async () => {
    await servers('coap+tcp');
    const d = device();
    await d.start();
    const updated = d.clients().get(1)!.next('updated');
    rd.dropConnections();
    await updated;
    expect(rd.updates).toBe(1);
    expect([...rd.registrations.keys()]).toEqual(['1']);
  });

  it('coap+tcp: sends an Update to the stored location when it kept no observation', async () => {
    await servers('coap+tcp');
    const first = device();
    await first.start();
    await stopped(first);
    said = [];
    const second = device();
    await second.start();
    expect(rd.updates).toBe(1);
    expect([...rd.registrations.keys()]).toEqual(['1']);
    expect(said).toContain('restored {"item":"registration","detail":"/rd/1 at coap+tcp://127.0.0.1:' + rd.port + '"}');
    expect(said.some((l) => l.startsWith('observations-ended'))).toBe(false);
    expect(bs.requests.length).toBe(1);
  });
});
