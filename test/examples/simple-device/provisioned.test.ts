// Issue 14's done-when with the example device as a process: --bootstrap and --state only, provisioned, registered, read, restarted, still observed.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { parseArgs } from '../../../examples/simple-device/cli.js';
import { TestBootstrapServer } from 'lwm2m-gen/testing';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { runDevice, type DeviceProcess } from '../support/device-process.js';

const text = new TextDecoder();
const fast = { ackTimeout: 300, maxRetransmit: 2, ackRandomFactor: 1 };

let dm: TestLwm2mServer;
let bs: TestBootstrapServer;
let dir: string;
let child: DeviceProcess | undefined;

beforeEach(async () => {
  dm = await TestLwm2mServer.start({ coap: fast });
  bs = await TestBootstrapServer.start({
    coap: fast,
    config: (ep) => (ep === 'prov-1' ? { servers: [{ uri: `coap://127.0.0.1:${dm.address().port}`, shortServerId: 3, lifetime: 120 }] } : undefined),
  });
  dir = await mkdtemp(join(tmpdir(), 'provisioned-'));
});

afterEach(async () => {
  await child?.kill();
  child = undefined;
  await bs.close();
  await dm.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the example device with --bootstrap and --state', () => {
  it('is provisioned, registers and answers Reads; restarted, it updates without bootstrap and its observation keeps notifying', async () => {
    const args = ['--bootstrap', bs.uri(), '--endpoint', 'prov-1', '--state', dir, '--interval', '1'];
    child = runDevice(args);
    expect(await child.line(/registered as prov-1/)).toMatch(/at \/rd\/\d+ \(lifetime 120 s/);
    for (const step of ['Bootstrap-Request to coap://', 'delete / -> 2.02', 'write /0/1 -> 2.04', 'write /1/1 -> 2.04', 'finish /bs -> 2.04', 'finished']) {
      expect(child.lines.some((l) => l.startsWith('bootstrap: ') && l.includes(step))).toBe(true);
    }
    expect((await dm.read('prov-1', '/3/0/0', ContentFormat.TEXT)).code).toBe('2.05');
    expect(text.decode((await dm.read('prov-1', '/3/0/0', ContentFormat.TEXT)).payload)).toBe('lwm2m-gen');
    const location = dm.findRegistration('prov-1')!.id;
    const obs = await dm.observe('prov-1', '/3/0/9', ContentFormat.TEXT);
    const before = await obs.next();
    child.proc.kill('SIGINT');
    expect(await child.exit).toBe(0);
    expect(child.lines.join('\n')).toMatch(/SIGINT: stopping \(the registration is kept in the state folder\)/);
    const count = obs.notifications.length;

    child = runDevice(args);
    expect(await child.line(/^updated \/rd\//)).toContain(`/rd/${location}`);
    for (const item of ['restored security /0/0', 'restored security /0/1', 'restored server /1/1', 'restored registration', 'restored observation /3/0/9']) {
      expect(child.lines.some((l) => l.startsWith(item))).toBe(true);
    }
    expect(bs.requests.length).toBe(1);
    expect(dm.findRegistration('prov-1')!.id).toBe(location);
    // The battery changes every second: the observation made before the restart notifies again, with a later sequence number.
    let after = await obs.next();
    while (obs.notifications.length <= count) after = await obs.next();
    expect(after.observe!).toBeGreaterThan(before.observe!);
    expect((await readFile(join(dir, 'state'), 'utf8')).startsWith('lwm2m-gen-state 1 ')).toBe(true);
  }, 90_000);

  it('keeps the firmware state in the same store: a Downloaded package is still Downloaded after a restart, and installs', async () => {
    const args = ['--bootstrap', bs.uri(), '--endpoint', 'prov-1', '--state', dir];
    child = runDevice(args);
    await child.line(/registered as prov-1/);
    const pkg = new TextEncoder().encode('simulated image version=2.7.1 '.padEnd(600, '.'));
    expect((await dm.write('prov-1', '/5/0/0', pkg, ContentFormat.OPAQUE)).code).toBe('2.04');
    await child.line(/firmware state 2, result 0/);
    child.proc.kill('SIGINT');
    expect(await child.exit).toBe(0);
    // One store file holds the device's sections and the firmware's; the package is the only other file.
    expect((await readdir(dir)).sort()).toEqual(['firmware.bin', 'state']);
    const names = Object.keys(JSON.parse((await readFile(join(dir, 'state'), 'utf8')).split('\n')[1]!) as object).sort();
    expect(names).toEqual(expect.arrayContaining(['firmware', 'security', 'servers', 'sessions']));

    child = runDevice(args);
    expect(await child.line(/^restored firmware state/)).toBe('restored firmware state Downloaded (package 2.7.1), now Downloaded');
    await child.line(/^updated \/rd\//);
    expect(text.decode((await dm.read('prov-1', '/5/0/3', ContentFormat.TEXT)).payload)).toBe('2');
    expect(text.decode((await dm.read('prov-1', '/5/0/7', ContentFormat.TEXT)).payload)).toBe('2.7.1');
    expect((await dm.execute('prov-1', '/5/0/2')).code).toBe('2.04');
    expect(await child.line(/^firmware updated to/)).toBe('firmware updated to 2.7.1');
    expect(bs.requests.length).toBe(1);
  }, 90_000);

  it('parses --bootstrap and --state, and refuses them with the wrong partners', () => {
    expect(parseArgs(['--bootstrap', 'coap://h:1', '--endpoint', 'e', '--state', '/tmp/x'])).toMatchObject({ bootstrap: 'coap://h:1', stateDir: '/tmp/x' });
    expect(() => parseArgs(['--endpoint', 'e'])).toThrow(/give --server URI or --bootstrap URI/);
    expect(() => parseArgs(['--server', 'coap://a', '--bootstrap', 'coap://b', '--endpoint', 'e'])).toThrow(/not both/);
    expect(() => parseArgs(['--bootstrap', 'coap://b', '--connection-string', 'HostName=a;DeviceId=b;SharedAccessKey=c2VjcmV0'])).toThrow(/--connection-string works with --server alone/);
  });
});
