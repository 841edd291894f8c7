// The client over real UDP sockets on 127.0.0.1 against our test LwM2M server: every operation end to end, with its codes.
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat, decodeRecords, encodeRecords } from '../../../runtime/codec/index.js';
import type { Lwm2mClient } from '../../../runtime/client/index.js';
import type { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestConfig, TestDevice, TestServer } from '../../support/objects.js';
import { createUdpRig, fast, type UdpRig } from '../../support/registered-client.js';

const text = new TextDecoder();

let rig: UdpRig;
let server: TestLwm2mServer;
let endpoint: CoapEndpoint;
let client: Lwm2mClient;
let device: TestDevice;
let cfg: TestConfig;

beforeEach(async () => {
  device = new TestDevice();
  cfg = new TestConfig(0, { level: 1 });
  rig = await createUdpRig({
    endpointName: 'it-dev', client: { preferredFormat: ContentFormat.TLV },
    objects: (c) => {
      c.addInstance(new TestServer(0, { shortServerId: 7, lifetime: 120 })).addInstance(device);
      c.addObject(cfg.definition, { create: (id) => new TestConfig(id) }).addInstance(cfg);
    },
  });
  ({ server, endpoint, client } = rig);
});

afterEach(() => rig.close());

const register = (): Promise<void> => rig.register();

describe('client against the test server over UDP', () => {
  it('registers, serves every operation with the right codes, and de-registers on stop', async () => {
    await register();
    const reg = server.findRegistration('it-dev')!;
    expect(reg).toMatchObject({ lifetime: 120, binding: 'U', lwm2mVersion: '1.1' });
    expect(reg.links).toBe('</>;rt="oma.lwm2m";ct=11542,</1/0>,</3>;ver=1.1,</3/0>,</10250/0>');

    const read = await server.read('it-dev', '/3/0/0');
    expect([read.code, read.contentFormat, text.decode(read.payload)]).toEqual(['2.05', 0, 'ACME']);
    const inst = await server.read('it-dev', '/3/0');
    expect(inst.contentFormat).toBe(ContentFormat.TLV);
    expect(decodeRecords(ContentFormat.TLV, { objectId: 3, instanceId: 0 }, inst.payload, client.registry.lookup)
      .find((r) => r.path.resourceId === 9)?.value).toBe(87);
    expect((await server.read('it-dev', '/3/0', ContentFormat.TEXT)).code).toBe('4.06');
    expect((await server.read('it-dev', '/3/7')).code).toBe('4.04');

    expect((await server.write('it-dev', '/3/0/14', '-03:00', ContentFormat.TEXT)).code).toBe('2.04');
    expect(device.utcOffset).toBe('-03:00');
    expect((await server.write('it-dev', '/3/0/0', 'x', ContentFormat.TEXT)).code).toBe('4.05');
    expect((await server.write('it-dev', '/3/0/14', 'x', 9999)).code).toBe('4.15');
    expect((await server.write('it-dev', '/10250/0/1', '77', ContentFormat.TEXT)).code).toBe('4.00');

    expect((await server.execute('it-dev', '/3/0/4', "0='soon'")).code).toBe('2.04');
    expect(device.reboots).toHaveLength(1);
    expect((await server.execute('it-dev', '/3/0/9')).code).toBe('4.05');

    expect((await server.writeAttributes('it-dev', '/3/0/9', ['pmin=5', 'pmax=50'])).code).toBe('2.04');
    expect((await server.writeAttributes('it-dev', '/3/0/9', ['pmin=60'])).code).toBe('4.00');
    const disc = await server.discover('it-dev', '/3/0/9');
    expect([disc.code, disc.contentFormat, text.decode(disc.payload)]).toEqual(['2.05', 40, '</3/0/9>;pmin=5;pmax=50']);

    const updated = server.waitFor('update');
    const payload = encodeRecords(ContentFormat.TLV, { objectId: 10250 },
      [{ path: { objectId: 10250, instanceId: 4, resourceId: 0 }, value: 'four' }], client.registry.lookup);
    const created = await server.create('it-dev', '/10250', payload, ContentFormat.TLV);
    expect([created.code, created.locationPath]).toEqual(['2.01', ['10250', '4']]);
    // the new instance reaches the server's view through an Update with links
    expect((await updated).payload).toContain('</10250/4>');
    expect((await server.delete('it-dev', '/10250/4')).code).toBe('2.02');
    expect((await server.delete('it-dev', '/10250/4')).code).toBe('4.04');
    expect((await server.delete('it-dev', '/1/0')).code).toBe('4.05');

    const deregistered = client.next('deregistered');
    await client.stop();
    expect(await deregistered).toMatchObject({ reason: 'stop' });
    expect(server.registrations.size).toBe(0);
    expect(server.log.at(-1)).toMatchObject({ kind: 'deregister', code: '2.02' });
  });

  it('keeps a refused Replace atomic and survives a throwing callback with 5.00', async () => {
    await register();
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const replace = (mode: number, level: number) => encodeRecords(ContentFormat.TLV, { objectId: 10250, instanceId: 0 }, [
      { path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'changed' },
      { path: { objectId: 10250, instanceId: 0, resourceId: 1 }, value: level },
      { path: { objectId: 10250, instanceId: 0, resourceId: 3 }, value: mode },
    ], client.registry.lookup);
    expect((await server.write('it-dev', '/10250/0', replace(1, 11), ContentFormat.TLV)).code).toBe('4.00');
    expect((await server.write('it-dev', '/10250/0', replace(99, 3), ContentFormat.TLV)).code).toBe('5.00');
    expect([cfg.name, cfg.level]).toEqual(['cfg0', 1]);
    expect(errors.map((e) => e.message)).toEqual(['hook exploded']);
    expect((await server.execute('it-dev', '/10250/0/4', "0='boom'")).code).toBe('5.00');
    // still serving
    expect((await server.write('it-dev', '/10250/0', replace(2, 3), ContentFormat.TLV)).code).toBe('2.04');
    expect([cfg.name, cfg.level, cfg.mode]).toEqual(['changed', 3, 2]);
  });

  it('sends an Update when the server writes the Lifetime and registers again after a 4.04', async () => {
    await register();
    const up = server.waitFor('update');
    expect((await server.write('it-dev', '/1/0/1', '240', ContentFormat.TEXT)).code).toBe('2.04');
    expect((await up).query).toEqual(['lt=240']);
    expect(server.findRegistration('it-dev')!.lifetime).toBe(240);

    server.forget('it-dev');
    const again = client.next('registered');
    await client.update();
    expect((await again).location).toEqual(['rd', '2']);
    expect(server.findRegistration('it-dev')!.lifetime).toBe(240);
  });

  it('retries while the server is down and registers once it is back', async () => {
    server.down = true;
    const failures: number[] = [];
    client.on('registration-failed', (e) => failures.push(e.attempt));
    const registered = client.next('registered');
    const twoFailures = new Promise<void>((resolve) => {
      client.on('registration-failed', (e) => {
        if (e.attempt === 2) resolve();
      });
    });
    await client.start();
    await twoFailures;
    server.down = false;
    await registered;
    expect(failures.slice(0, 2)).toEqual([1, 2]);
    expect(server.findRegistration('it-dev')).toBeDefined();
  });

  it('refuses a foreign peer with 4.03 and changes nothing', async () => {
    await register();
    const stranger = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ...fast });
    try {
      const res = await stranger.request(endpoint.address(), { method: 'DELETE', path: ['10250', '0'] });
      expect(res.code).toBe('4.03');
      const w = await stranger.request(endpoint.address(), { method: 'PUT', path: ['3', '0', '14'], contentFormat: 0, payload: new TextEncoder().encode('+09:00') });
      expect(w.code).toBe('4.03');
    } finally {
      await stranger.close();
    }
    expect(client.registry.instance(10250, 0)).toBe(cfg);
    expect(device.utcOffset).toBe('+01:00');
  });
});
