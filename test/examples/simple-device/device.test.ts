// The example device in-process over real UDP on 127.0.0.1 against our test LwM2M server: registration, every operation and its codes, reboot.
import { ContentFormat, decodeRecords } from '../../../runtime/codec/index.js';
import { startSimpleDevice, type SimpleDevice } from '../../../examples/simple-device/index.js';
import * as http from 'node:http';
import { ManualClock } from '../../../runtime/coap/clock.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const text = new TextDecoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const EP = 'sim-it';

let server: TestLwm2mServer;
let dev: SimpleDevice | undefined;
let lines: string[];

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
  lines = [];
});

afterEach(async () => {
  await dev?.stop();
  dev = undefined;
  await server.close();
});

async function start(extra: Partial<Parameters<typeof startSimpleDevice>[0]> = {}): Promise<SimpleDevice> {
  const { address, port } = server.address();
  dev = await startSimpleDevice({
    server: `coap://${address}:${port}`, endpoint: EP, lifetime: 120, coap: fast, retry: { initialDelayMs: 20, maxDelayMs: 100 },
    log: (l) => lines.push(l), ...extra,
  });
  return dev;
}

function senml(records: object[]): string {
  return JSON.stringify(records);
}

describe('simple-device against the test server', () => {
  it('registers with every object and logs a registered line', async () => {
    const d = await start();
    expect(d.client.state).toBe('registered');
    expect(lines.some((l) => l.includes('registered'))).toBe(true);
    const reg = server.findRegistration(EP)!;
    expect(reg.lifetime).toBe(120);
    expect(reg.links).toMatch(/<\/1\/0>.*<\/3\/0>.*<\/5\/0>.*<\/26241\/0>/);
  });

  it('answers Read, Write, Execute, Discover, Write-Attributes, Create and Delete with the right codes', async () => {
    const d = await start();
    const read = await server.read(EP, '/3/0/0');
    expect([read.code, text.decode(read.payload)]).toEqual(['2.05', 'lwm2m-gen']);
    const inst = await server.read(EP, '/3/0', ContentFormat.TLV);
    expect([inst.code, inst.contentFormat]).toEqual(['2.05', ContentFormat.TLV]);
    const records = decodeRecords(ContentFormat.TLV, { objectId: 3, instanceId: 0 }, inst.payload, d.client.registry.lookup);
    expect(records.find((r) => r.path.resourceId === 11)?.value).toBe(0);
    expect(records.find((r) => r.path.resourceId === 13)?.value).toBeInstanceOf(Date);
    const cbor = await server.read(EP, '/3/0', ContentFormat.SENML_CBOR);
    expect([cbor.code, cbor.contentFormat]).toEqual(['2.05', ContentFormat.SENML_CBOR]);
    expect((await server.read(EP, '/3/0', ContentFormat.TEXT)).code).toBe('4.06');
    expect((await server.read(EP, '/3/1')).code).toBe('4.04');
    expect((await server.read(EP, '/4')).code).toBe('4.04');

    // Write: replace a single resource, refused values, read-only resources, unknown formats.
    expect((await server.write(EP, '/3/0/14', 'UTC+02:00', ContentFormat.TEXT)).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/3/0/14')).payload)).toBe('UTC+02:00');
    expect((await server.write(EP, '/3/0/14', 'two hours', ContentFormat.TEXT)).code).toBe('4.00');
    expect((await server.write(EP, '/3/0/15', 'Nowhere/Land', ContentFormat.TEXT)).code).toBe('4.00');
    expect((await server.write(EP, '/3/0/9', '5', ContentFormat.TEXT)).code).toBe('4.05');
    expect((await server.write(EP, '/3/0/14', 'x', 9999)).code).toBe('4.15');
    expect((await server.write(EP, '/3/0/13', '2000000000', ContentFormat.TEXT)).code).toBe('2.04');
    const now = Number(text.decode((await server.read(EP, '/3/0/13')).payload));
    expect(now).toBeGreaterThanOrEqual(2_000_000_000);
    expect(now).toBeLessThan(2_000_000_100);

    // Config: a partial write stages, reads show the applied value, Execute Apply (with arguments) applies.
    const stage = senml([{ bn: '/26241/0/', n: '0', vs: 'logLevel' }, { n: '1', vs: 'debug' }]);
    expect((await server.write(EP, '/26241/0', stage, ContentFormat.SENML_JSON, true)).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/26241/0/0')).payload)).toBe('telemetryInterval');
    expect((await server.execute(EP, '/26241/0/2', "0='now'")).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/26241/0/1')).payload)).toBe('debug');
    expect(d.config?.settings.get('logLevel')).toBe('debug');
    expect((await server.write(EP, '/26241/0/1', 'loud', ContentFormat.TEXT)).code).toBe('2.04');
    expect((await server.execute(EP, '/26241/0/2')).code).toBe('4.00');
    expect(text.decode((await server.read(EP, '/26241/0/1')).payload)).toBe('debug');
    expect(lines.some((l) => l.includes('config apply failed for logLevel (4.00)'))).toBe(true);

    // Execute: wrong targets and malformed arguments.
    expect((await server.execute(EP, '/3/0/0')).code).toBe('4.05');
    expect((await server.execute(EP, '/3/0/4', '0=x')).code).toBe('4.00');
    expect((await server.execute(EP, '/5/0/2')).code).toBe('4.05');
    expect((await server.write(EP, '/5/0/1', 'ftp://nowhere/fw', ContentFormat.TEXT)).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/5/0/5')).payload)).toBe('9');
    expect((await server.execute(EP, '/3/0/12')).code).toBe('2.04');

    // Discover and Write-Attributes.
    expect((await server.writeAttributes(EP, '/3/0/9', ['pmin=1', 'pmax=30'])).code).toBe('2.04');
    expect((await server.writeAttributes(EP, '/3/0/9', ['pmin=x'])).code).toBe('4.00');
    const disc = await server.discover(EP, '/3/0');
    expect(disc.code).toBe('2.05');
    expect(text.decode(disc.payload)).toContain('</3/0/9>;pmin=1;pmax=30');
    expect(text.decode(disc.payload)).toContain('</3/0/13>');

    // Delete and Create of the Config instance; the Server instance cannot be deleted.
    expect((await server.delete(EP, '/26241/0')).code).toBe('2.02');
    expect((await server.read(EP, '/26241/0')).code).toBe('4.04');
    const create = senml([{ bn: '/26241/0/', n: '0', vs: 'deviceName' }, { n: '1', vs: 'bench-7' }]);
    const created = await server.create(EP, '/26241', create, ContentFormat.SENML_JSON);
    expect([created.code, created.locationPath]).toEqual(['2.01', ['26241', '0']]);
    expect((await server.execute(EP, '/26241/0/2')).code).toBe('2.04');
    expect(d.config?.settings.get('deviceName')).toBe('bench-7');
    expect((await server.create(EP, '/3', create, ContentFormat.SENML_JSON)).code).toBe('4.05');
    expect((await server.delete(EP, '/1/0')).code).toBe('4.05');
  });

  it('Observe of Current Time notifies as the clock ticks', async () => {
    await start();
    const obs = await server.observe(EP, '/3/0/13');
    expect(obs.response.code).toBe('2.05');
    expect(obs.response.observe).toBeDefined();
    const first = Number(text.decode(obs.response.payload));
    const n = await obs.next();
    expect(n.code).toBe('2.05');
    expect(Number(text.decode(n.payload))).toBeGreaterThan(first);
    expect(await obs.cancel()).toBe('2.05');
  });

  it('Reboot answers 2.04 first, then de-registers and registers again', async () => {
    await start();
    const regsBefore = server.log.filter((e) => e.kind === 'register').length;
    const from = server.log.length;
    const res = await server.execute(EP, '/3/0/4', "0='soft'");
    expect(res.code).toBe('2.04');
    await server.waitFor('deregister', () => true, from);
    await server.waitFor('register', () => true, from);
    expect(server.log.filter((e) => e.kind === 'register').length).toBe(regsBefore + 1);
    await dev!.rebooting;
    expect(lines.some((l) => l.startsWith('reboot: restarting'))).toBe(true);
    expect(dev!.client.state).toBe('registered');
  });

  it('a firmware package and Update install the new version after the 2.04, then re-register', async () => {
    const d = await start();
    const from = server.log.length;
    expect((await server.write(EP, '/5/0/0', new TextEncoder().encode('version=2.1.0\n...'), ContentFormat.OPAQUE)).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/5/0/3')).payload)).toBe('2');
    expect((await server.execute(EP, '/5/0/2')).code).toBe('2.04');
    await server.waitFor('register', () => true, from);
    await d.rebooting;
    expect(text.decode((await server.read(EP, '/3/0/3')).payload)).toBe('2.1.0');
    expect(text.decode((await server.read(EP, '/5/0/5')).payload)).toBe('1');
  });

  it('pulls a package from Package URI over HTTP, then installs it', async () => {
    const image = new TextEncoder().encode(`version=3.0.0\n${'x'.repeat(5000)}`);
    const web = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': image.length });
      res.end(Buffer.from(image));
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    try {
      const d = await start();
      const downloaded = new Promise<void>((resolve) => {
        d.firmware.updater.on('state', ({ state }) => { if (state === 2) resolve(); });
      });
      const { port } = web.address() as { port: number };
      expect((await server.write(EP, '/5/0/1', `http://127.0.0.1:${port}/fw.bin`, ContentFormat.TEXT)).code).toBe('2.04');
      await downloaded;
      expect(text.decode((await server.read(EP, '/5/0/7')).payload)).toBe('3.0.0');
      const from = server.log.length;
      expect((await server.execute(EP, '/5/0/2')).code).toBe('2.04');
      await server.waitFor('register', () => true, from);
      await d.rebooting;
      expect(text.decode((await server.read(EP, '/3/0/3')).payload)).toBe('3.0.0');
    } finally {
      await new Promise((r) => web.close(r));
    }
  });

  it('Factory Reset restores settings and time zone, and re-registers', async () => {
    const d = await start();
    await server.write(EP, '/3/0/14', 'UTC+05:00', ContentFormat.TEXT);
    d.config!.settings.set('logLevel', 'error');
    const from = server.log.length;
    expect((await server.execute(EP, '/3/0/5')).code).toBe('2.04');
    await server.waitFor('register', () => true, from);
    await d.rebooting;
    expect(text.decode((await server.read(EP, '/3/0/14')).payload)).toBe('UTC+00:00');
    expect(d.config!.settings.get('logLevel')).toBe('info');
  });

  it('registers with the SAS token from a connection string and never logs the key or token', async () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    await start({ endpoint: undefined, connectionString: `HostName=hub.example;DeviceId=sas-dev;SharedAccessKey=${key}` } as never);
    const reg = server.findRegistration('sas-dev')!;
    const tk = reg.query.find((q) => q.startsWith('tk='));
    expect(tk).toMatch(/^tk=SharedAccessSignature sr=hub\.example%2Fdevices%2Fsas-dev&sig=.+&se=\d+$/);
    const all = lines.join('\n');
    expect(all).toContain('registered');
    expect(all).not.toContain(key);
    expect(all).not.toContain(tk!.slice(3));
  });

  it('renews the SAS token before it expires and registers again with the new one', async () => {
    const key = Buffer.from('fedcba9876543210fedcba9876543210').toString('base64');
    const clock = new ManualClock();
    const T0 = 1_800_000_000_000;
    await start({
      endpoint: undefined, connectionString: `HostName=hub.example;DeviceId=sas-renew;SharedAccessKey=${key}`,
      sasTtlSeconds: 3600, sasRenewBeforeSeconds: 300, lifetime: 86400, clock, wallClock: () => T0 + clock.now(),
    } as never);
    const first = server.findRegistration('sas-renew')!.query.find((q) => q.startsWith('tk='))!;
    expect(first).toContain(`se=${T0 / 1000 + 3600}`);
    const from = server.log.length;
    clock.advance(3299_000);
    expect(server.log.length).toBe(from);
    clock.advance(1000);
    const again = await server.waitFor('register', () => true, from);
    const second = again.query.find((q) => q.startsWith('tk='))!;
    expect(second).toContain(`se=${T0 / 1000 + 3300 + 3600}`);
    expect(lines.some((l) => /SAS token renewed \(expires .*\): registering again/.test(l))).toBe(true);
    expect(lines.join('\n')).not.toContain(second.slice(3));
  });

  it('stop() does not wait for a server that stopped answering', async () => {
    const d = await start({ coap: {}, stopTimeoutMs: 100 });
    server.down = true;
    await d.stop();
    expect(lines.some((l) => l.includes('did not answer the De-register in time'))).toBe(true);
  });

  it('stop() de-registers', async () => {
    const d = await start();
    const from = server.log.length;
    await d.stop();
    const e = await server.waitFor('deregister', () => true, from);
    expect(e.code).toBe('2.02');
    expect(lines.some((l) => l.includes('deregistered'))).toBe(true);
  });
});
