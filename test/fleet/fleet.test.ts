// Fleet through real sockets on 127.0.0.1: tens of devices register with the test server, serve it, notify, and de-register.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat, type ExecuteArguments } from '../../runtime/index.js';
import { Device, DeviceBase } from '../../generated/device.js';
import { Fleet, FleetOptionError, checkFleetOptions, type FleetOptions } from '../../fleet/index.js';
import { TestLwm2mServer } from '../../testing/index.js';

const text = new TextDecoder();
let server: TestLwm2mServer;
let uri: string;
const fleets: Fleet[] = [];

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: { ackTimeout: 200 } });
  uri = `coap://127.0.0.1:${server.address().port}`;
});
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.stop()));
  await server.close();
});

function fleet(options: Omit<FleetOptions, 'server'> & { server?: string }): Fleet {
  const f = new Fleet({ server: uri, objects: [Device], closeTimeoutMs: 2000, ...options });
  fleets.push(f);
  return f;
}

describe('Fleet over coap://', () => {
  it('registers every device under its own name and socket, serves reads, and de-registers them all on stop', async () => {
    const f = fleet({ devices: 20, endpoint: 'fleet-{i:3}', firstIndex: 5 });
    await f.start();
    expect(await f.waitRegistered(1, 10_000)).toBe(true);
    expect(server.registrations.size).toBe(20);
    const names = [...server.registrations.values()].map((r) => r.endpoint).sort();
    expect(names[0]).toBe('fleet-005');
    expect(names[19]).toBe('fleet-024');
    expect(new Set([...server.registrations.values()].map((r) => r.peer.port)).size).toBe(20);
    const reg = server.findRegistration('fleet-007')!;
    expect(reg.lifetime).toBe(300);
    expect(reg.links).toContain('</3/0>');
    const serial = await server.read('fleet-007', '/3/0/2', ContentFormat.TEXT);
    expect(serial.code).toBe('2.05');
    expect(text.decode(serial.payload)).toBe('fleet-007');
    const s = await f.stop();
    expect(server.registrations.size).toBe(0);
    expect(s).toMatchObject({ target: 20, started: 20, registered: 0, everRegistered: 20, registrations: 20, deregistrations: 20, requests: 1 });
    expect(s.errors).toEqual({});
    expect(s.responseTime.count).toBe(40); // 20 Registers, 20 De-registers
    expect(s.responseTime.p50).toBeGreaterThan(0);
    expect(s.responseTime.p99).toBeGreaterThanOrEqual(s.responseTime.p50!);
  });

  it('starts devices at the ramp-up rate', async () => {
    const f = fleet({ devices: 10, rampPerSecond: 40 });
    const t0 = performance.now();
    await f.start();
    // The 10th device is due 9/40 s after the first.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(220);
    expect(await f.waitRegistered(1, 5000)).toBe(true);
  });

  it('sends Updates at the interval asked for', async () => {
    const f = fleet({ devices: 3, lifetime: 60, updateEverySeconds: 0.2 });
    await f.start();
    await server.waitFor('update', (e) => e.path[1] === server.findRegistration('dev-2')?.id);
    expect(server.findRegistration('dev-0')!.lifetime).toBe(60);
    await new Promise((r) => setTimeout(r, 300));
    expect(f.snapshot().updates).toBeGreaterThanOrEqual(3);
  });

  it('drives a resource with a random walk inside its range, which notifies the server observing it', async () => {
    const f = fleet({ devices: 5, values: [{ path: '/3/0/9', everySeconds: 0.05, generator: { kind: 'random-walk', min: 10, max: 90, step: 30 } }] });
    await f.start();
    await f.waitRegistered(1, 5000);
    expect((await server.writeAttributes('dev-3', '/3/0/9', ['pmin=0'])).code).toBe('2.04');
    const obs = await server.observe('dev-3', '/3/0/9', ContentFormat.TEXT);
    expect(obs.response.code).toBe('2.05');
    const values = [text.decode(obs.response.payload)];
    for (let i = 0; i < 3; i++) values.push(text.decode((await obs.next()).payload));
    for (const v of values) {
      expect(Number(v)).toBeGreaterThanOrEqual(10);
      expect(Number(v)).toBeLessThanOrEqual(90);
    }
    expect(new Set(values).size).toBeGreaterThan(1);
    expect(f.snapshot().notifications).toBeGreaterThanOrEqual(3);
  });

  it('replays a CSV column and follows a sine, per device', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
    const csv = join(dir, 'battery.csv');
    writeFileSync(csv, 'time,level\n0,11\n1,22\n2,33\n');
    const f = fleet({
      devices: 2,
      values: [
        { path: '3/0/9', everySeconds: 0.05, generator: { kind: 'replay', file: csv, column: 'level' } },
        { path: '3/0/7', everySeconds: 0.05, generator: { kind: 'sine', min: 3000, max: 4000, periodSeconds: 1 } },
      ],
    });
    await f.start();
    await f.waitRegistered(1, 5000);
    await server.writeAttributes('dev-1', '/3/0/9', ['pmin=0']);
    const obs = await server.observe('dev-1', '/3/0/9', ContentFormat.TEXT);
    const seen = new Set([text.decode(obs.response.payload)]);
    while (seen.size < 3) seen.add(text.decode((await obs.next()).payload));
    expect([...seen].every((v) => ['11', '22', '33'].includes(v))).toBe(true);
    const volts = await server.read('dev-0', '/3/0/7/0', ContentFormat.TEXT);
    expect(Number(text.decode(volts.payload))).toBeGreaterThanOrEqual(3000);
    expect(Number(text.decode(volts.payload))).toBeLessThanOrEqual(4000);
  });

  it("counts a device whose handler throws and keeps the others (and that device) serving", async () => {
    class Faulty extends DeviceBase {
      reboot(_args: ExecuteArguments): void {
        throw new Error('the reboot handler failed');
      }
    }
    const f = fleet({
      devices: 4,
      factory: ({ index, endpointName }) => {
        if (index === 3) throw new Error('no device 3 today');
        return [new Faulty(0, { manufacturer: 'ACME', serialNumber: endpointName, supportedBindingAndModes: 'U', errorCode: [0] })];
      },
    });
    const errors: string[] = [];
    f.on('device-error', (e) => errors.push(`${e.endpointName} ${e.kind}`));
    await f.start();
    await f.waitRegistered(0.75, 5000);
    expect((await server.execute('dev-1', '/3/0/4')).code).toBe('5.00');
    expect((await server.read('dev-1', '/3/0/0', ContentFormat.TEXT)).code).toBe('2.05');
    expect((await server.read('dev-2', '/3/0/2', ContentFormat.TEXT)).code).toBe('2.05');
    const s = f.snapshot();
    expect(s.errors).toEqual({ factory: 1, handler: 1 });
    expect(errors.sort()).toEqual(['dev-1 handler', 'dev-3 factory']);
    expect(s.registered).toBe(3);
  });

  it('counts Registers the server refuses by their code', async () => {
    await server.close();
    server = await TestLwm2mServer.start({ root: 'other' });
    const f = fleet({ server: `coap://127.0.0.1:${server.address().port}`, devices: 3, retry: { initialDelayMs: 60_000 } });
    await f.start();
    expect(f.snapshot().errors).toEqual({ 'register 4.04': 3 });
    expect(f.snapshot().registered).toBe(0);
  });
});

describe('bad input is refused before anything starts', () => {
  const refused = (o: Partial<FleetOptions>): FleetOptionError => {
    try {
      checkFleetOptions({ server: uri, devices: 2, objects: [Device], ...o });
    } catch (err) {
      expect(err).toBeInstanceOf(FleetOptionError);
      return err as FleetOptionError;
    }
    throw new Error('accepted');
  };

  it.each<[string, Partial<FleetOptions>, string, RegExp]>([
    ['a bad URI', { server: 'coap//nowhere' }, 'server', /not a valid URI: write e.g. coap:\/\/127.0.0.1:5683/],
    ['an unknown scheme', { server: 'http://127.0.0.1' }, 'server', /unsupported scheme http/],
    ['a key that is not hex', { server: 'coaps://127.0.0.1', pskKey: 'secret-key-xyz' }, 'psk-key', /device 0: the PSK key is not hex/],
    ['an odd-length key', { server: 'coaps://127.0.0.1', pskKey: '{i}' }, 'psk-key', /not hex/],
    ['a secure URI without a key', { server: 'coaps://127.0.0.1' }, 'psk-key', /needs pskIdentity and pskKey: give --psk-key/],
    ['a key with coap://', { pskKey: '0011' }, 'server', /need a secure URI/],
    ['more devices than open files', { devices: 10_000_000 }, 'devices', /need 10000064 open files but this process may open \d+: raise the limit \(ulimit -n 10000064\)/],
    ['one name for all', { endpoint: 'dev' }, 'endpoint', /gives two devices the name dev: put \{i\} in it/],
    ['a stray brace', { endpoint: 'dev-{n}' }, 'endpoint', /use \{i\}/],
    ['no devices', { devices: 0 }, 'devices', /above 0/],
    ['a bad value path', { values: [{ path: '/3/x/9', everySeconds: 1, generator: { kind: 'constant', value: 1 } }] }, 'values', /not a resource path/],
    ['a resource the devices lack', { values: [{ path: '/3303/0/5700', everySeconds: 1, generator: { kind: 'constant', value: 1 } }] }, 'values', /no such resource \(objects: 3\)/],
    ['a walk upside down', { values: [{ path: '/3/0/9', everySeconds: 1, generator: { kind: 'random-walk', min: 5, max: 1, step: 1 } }] }, 'values', /min 5 is above max 1/],
  ])('%s', (_what, options, option, message) => {
    const err = refused(options);
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('secret-key');
  });

  it('a CSV with fewer devices than asked, or a bad key on a line, names the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
    const csv = join(dir, 'devices.csv');
    writeFileSync(csv, 'endpoint,identity,key\na,a,00ff\nb,b,00ff\n');
    expect(refused({ server: 'coaps://127.0.0.1', csv, devices: 3 }).message).toBe(`${csv} has 2 devices, fewer than the 3 asked for: add rows or ask for fewer devices`);
    writeFileSync(csv, 'a,a,00ff\nb,b,not-hex-secret\n');
    const err = refused({ server: 'coaps://127.0.0.1', csv });
    expect(err.message).toMatch(`${csv}:2: the PSK key is not hex`);
    expect(err.message).not.toContain('not-hex-secret');
  });

  it('the Fleet constructor refuses too, and opens nothing', () => {
    expect(() => new Fleet({ server: uri, devices: 2, objects: [Device], endpoint: 'same' })).toThrow(FleetOptionError);
    expect(server.log).toHaveLength(0);
  });
});
