// Send (LwM2M 1.1, POST /dp) end to end on 127.0.0.1: UDP and coap+tcp, SenML CBOR and JSON, several paths, timestamps, Mute Send, offline, refusals, the server's codes.
import * as cbor from 'cbor';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import {
  connectClient, DeviceClient, SendError, SendMutedError, SendNotRegisteredError, SendPathError, SendRejectedError,
  type CapturedSend, type Lwm2mClient,
} from '../../../runtime/client/index.js';
import { createUdpRig, fast, type UdpRig } from '../../support/registered-client.js';
import { StreamRegistrationServer } from '../../support/stream-rd.js';
import { ConfigDef, DeviceDef, TestConfig, TestDevice } from '../../support/objects.js';

const text = new TextDecoder();
const utf8 = new TextEncoder();
const EP = 'send-dev';
const objects = [DeviceDef, ConfigDef];

function addObjects(c: Lwm2mClient): void {
  c.addInstance(new TestDevice()).addObject(ConfigDef, { create: (id) => new TestConfig(id) })
    .addInstance(new TestConfig(0, { level: 1, tags: ['a', 'b'], name: 'secret-name-42' })).addInstance(new TestConfig(1, { level: 2 }));
}

describe('Send over UDP', () => {
  let rig: UdpRig;
  let offline: CapturedSend[];
  let wall: number;

  beforeEach(async () => {
    offline = [];
    wall = Date.UTC(2026, 11, 1, 22, 0, 0, 250);
    rig = await createUdpRig({
      endpointName: EP, objects: addObjects,
      client: { shortServerId: 7, wallClock: () => wall, offlineSend: (s) => { offline.push(s); } },
    });
  });
  afterEach(() => rig.close());

  it('delivers several paths in SenML CBOR by default: 2.04, one record each, bt the time of the send', async () => {
    await rig.register();
    const result = await rig.client.send(['/3/0/9', '/3/0/0']);
    expect([result.status, result.code, result.format]).toEqual(['delivered', '2.04', ContentFormat.SENML_CBOR]);
    const report = await rig.server.nextSend(EP);
    expect(report.contentFormat).toBe(ContentFormat.SENML_CBOR);
    expect(report.values).toEqual([
      { path: '/3/0/9', value: 87, time: new Date(wall) },
      { path: '/3/0/0', value: 'ACME', time: new Date(wall) },
    ]);
    // An independent CBOR decoder (node-cbor) reads the body the server got: bt (-3) on the first record, no t.
    const body = await sentBody(rig, () => rig.client.send(['/3/0/9']));
    expect(cbor.decodeFirstSync(body)).toEqual([new Map<number, unknown>([[-3, wall / 1000], [0, '/3/0/9'], [2, 87]])]);
  });

  it('carries objects, instances, resources and resource instances at once in SenML JSON, each value once', async () => {
    await rig.register();
    const body = await sentBody(rig, () => rig.client.send(['/3/0', '/10250/0/2/1', '/10250/1', '/3/0/9'], { format: ContentFormat.SENML_JSON }));
    const records = JSON.parse(text.decode(body)) as Array<Record<string, unknown>>;
    expect(records.map((r) => r.n)).toEqual([
      '/3/0/0', '/3/0/1', '/3/0/6/0', '/3/0/6/1', '/3/0/9', '/3/0/13', '/3/0/14', '/3/0/16',
      '/10250/0/2/1', '/10250/1/0', '/10250/1/1', '/10250/1/6',
    ]);
    expect(records[0]).toEqual({ bt: wall / 1000, n: '/3/0/0', vs: 'ACME' });
    const report = rig.server.sends(EP).at(-1)!;
    expect(report.byPath.get('/10250/0/2/1')).toBe('b');
    // Typed by the device's models, Current Time is a Date.
    expect(report.typed(objects).find((v) => v.path === '/3/0/13')!.value).toEqual(new Date(1_700_000_000_000));
  });

  it('keeps the times values were captured at: t per record from the base time', async () => {
    await rig.register();
    const captured = wall - 90_500;
    const body = await sentBody(rig, () => rig.client.send(
      [{ path: '/3/0/9', value: 42, time: new Date(captured) }, '/3/0/0'], { format: ContentFormat.SENML_JSON }));
    expect(JSON.parse(text.decode(body))).toEqual([
      { bt: wall / 1000, n: '/3/0/9', t: -90.5, v: 42 },
      { n: '/3/0/0', vs: 'ACME' },
    ]);
    expect(rig.server.sends(EP).at(-1)!.values.map((v) => v.time)).toEqual([new Date(captured), new Date(wall)]);
    const report = await sentBody(rig, () => rig.client.send([{ path: '/3/0/9', value: 41, time: captured }], { time: wall + 1000 }));
    expect(cbor.decodeFirstSync(report)).toEqual([new Map<number, unknown>([[-3, (wall + 1000) / 1000], [0, '/3/0/9'], [6, -91.5], [2, 41]])]);
  });

  it('refuses paths the device lacks, cannot read or may not send, naming the path, before anything goes out', async () => {
    await rig.register();
    const cases: Array<[string, string]> = [
      ['/3/0/99', '4.04'], ['/3/1', '4.04'], ['/9', '4.04'], ['/3/0/4', '4.05'], ['/0/0', '4.01'], ['/0', '4.01'], ['/3/x', '4.00'], ['/3/0/9/0/1', '4.00'],
    ];
    for (const [path, code] of cases) {
      const err = await rig.client.send(['/3/0/9', path]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendPathError);
      expect([(err as SendPathError).path, (err as SendPathError).code]).toEqual([path, code]);
      expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
    }
    // A captured value that does not fit its resource, or a value for a whole instance.
    await expect(rig.client.send([{ path: '/3/0/9', value: 'full' }])).rejects.toMatchObject({ name: 'SendPathError', path: '/3/0/9', code: '4.00' });
    await expect(rig.client.send([{ path: '/3/0/9', value: 101 }])).rejects.toMatchObject({ path: '/3/0/9', code: '4.00' });
    await expect(rig.client.send([{ path: '/3/0', value: 1 }])).rejects.toMatchObject({ path: '/3/0', code: '4.00' });
    await expect(rig.client.send([])).rejects.toBeInstanceOf(SendError);
    await expect(rig.client.send(['/3/0/9'], { format: ContentFormat.TLV as never })).rejects.toThrow('Content-Format 11542 cannot carry a Send');
    expect(rig.server.log.filter((e) => e.kind === 'send')).toHaveLength(0);
  });

  it('honours Mute Send (/1/x/23): a server write to true refuses locally at once, false allows again', async () => {
    await rig.register();
    expect(rig.client.muteSend()).toBe(false);
    expect((await rig.server.write(EP, '/1/0/23', '1', ContentFormat.TEXT)).code).toBe('2.04');
    const err = await rig.client.send(['/3/0/9']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendMutedError);
    expect((err as SendMutedError).shortServerId).toBe(7);
    expect(offline).toHaveLength(0);
    expect(rig.server.log.filter((e) => e.kind === 'send')).toHaveLength(0);
    expect((await rig.server.write(EP, '/1/0/23', '0', ContentFormat.TEXT)).code).toBe('2.04');
    expect((await rig.client.send(['/3/0/9'])).code).toBe('2.04');
    expect(rig.server.sends(EP)).toHaveLength(1);
  });

  it('hands a Send made while not registered to the offline sink, whose values keep their times when sent later', async () => {
    const kept = await rig.client.send(['/3/0/9']);
    expect([kept.status, kept.code]).toEqual(['kept', undefined]);
    expect(offline).toEqual([{
      values: [{ path: { objectId: 3, instanceId: 0, resourceId: 9 }, value: 87, time: wall }],
      format: ContentFormat.SENML_CBOR, capturedAt: wall, shortServerId: 7, payload: expect.any(Uint8Array),
    }]);
    // The body as it would have gone, bt the time of the call.
    expect(cbor.decodeFirstSync(offline[0]!.payload)).toEqual([new Map<number, unknown>([[-3, wall / 1000], [0, '/3/0/9'], [2, 87]])]);
    await rig.register();
    wall += 60_000;
    const later = await rig.client.send(offline[0]!.values, { format: offline[0]!.format });
    expect(later.status).toBe('delivered');
    expect((await rig.server.nextSend(EP)).values).toEqual([{ path: '/3/0/9', value: 87, time: new Date(wall - 60_000) }]);
  });

  it('surfaces the server\'s error code as SendRejectedError', async () => {
    await rig.register();
    for (const code of ['4.00', '4.04', '4.05', '5.00'] as const) {
      rig.server.intercept = (req) => (req.path[0] === 'dp' ? { code, payload: utf8.encode('nope') } : undefined);
      const err = await rig.client.send(['/3/0/9']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendRejectedError);
      expect([(err as SendRejectedError).code, (err as Error).message]).toEqual([code, `the server answered the Send with ${code}: nope`]);
    }
    rig.server.intercept = undefined;
    expect(rig.server.sends(EP)).toHaveLength(0);
  });

  it('sends a 4 KB body and keeps it out of the server log', async () => {
    await rig.register();
    const blob = new Uint8Array(3000).map((_, i) => i % 251);
    rig.client.removeInstance(10250, 0);
    rig.client.addInstance(new TestConfig(0, { name: 'secret-name-42', blob }));
    await rig.client.send(['/10250/0'], { format: ContentFormat.SENML_JSON });
    const report = await rig.server.nextSend(EP);
    expect(report.bytes).toBeGreaterThan(4000);
    expect(report.byPath.get('/10250/0/5')).toEqual(blob);
    expect(report.byPath.get('/10250/0/0')).toBe('secret-name-42');
    const logged = rig.server.log.filter((e) => e.kind === 'send');
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(rig.server.log)).not.toContain('secret-name-42');
  });

  it('hands a Send made while disabled (Disable executed) to the offline sink', async () => {
    await rig.register();
    expect((await rig.server.execute(EP, '/1/0/4')).code).toBe('2.04');
    await rig.client.next('deregistered');
    expect(rig.client.state).toBe('disabled');
    expect((await rig.client.send(['/3/0/9'])).status).toBe('kept');
    expect(offline[0]!.values).toHaveLength(1);
  });
});

describe('Send without an offline sink, and the test server\'s own checks', () => {
  let rig: UdpRig;
  let stranger: CoapEndpoint | undefined;
  beforeEach(async () => {
    rig = await createUdpRig({ endpointName: EP, objects: addObjects });
  });
  afterEach(async () => {
    await stranger?.close();
    await rig.close();
  });

  it('rejects with SendNotRegisteredError before the first Register, sending nothing', async () => {
    const err = await rig.client.send(['/3/0/9']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendNotRegisteredError);
    expect((err as SendNotRegisteredError).state).toBe('idle');
    expect(rig.server.log).toHaveLength(0);
  });

  it('refuses locally when the client registers as LwM2M 1.0, which has no Send', async () => {
    const old = await createUdpRig({ endpointName: 'send-10', objects: addObjects, client: { lwm2mVersion: '1.0' } });
    try {
      await old.register();
      await expect(old.client.send(['/3/0/9'])).rejects.toThrow('the client registers as LwM2M 1.0, which has no Send (LwM2M 1.1 added it)');
      expect(old.server.log.filter((e) => e.kind === 'send')).toHaveLength(0);
    } finally {
      await old.close();
    }
  });

  it('answers 4.04 to a peer that has no registration, 4.00 to a body it cannot decode, 4.15 to another format', async () => {
    await rig.register();
    stranger = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ...fast });
    const body = utf8.encode('[{"n":"/3/0/9","v":1}]');
    expect((await stranger.request(rig.server.address(), { method: 'POST', path: ['dp'], contentFormat: 110, payload: body })).code).toBe('4.04');
    const own = (payload: Uint8Array, contentFormat?: number) => rig.endpoint.request(rig.server.address(), {
      method: 'POST', path: ['dp'], payload, ...(contentFormat !== undefined ? { contentFormat } : {}),
    });
    expect((await own(utf8.encode('[{"n":"/3/0/9"'), 110)).code).toBe('4.00');
    expect((await own(utf8.encode('[{"n":"not a path","v":1}]'), 110)).code).toBe('4.00');
    expect((await own(utf8.encode('[]'), 110)).code).toBe('4.00');
    expect((await own(new Uint8Array([0xff]), 112)).code).toBe('4.00');
    expect((await own(body, 0)).code).toBe('4.15');
    expect((await own(body)).code).toBe('4.15');
    expect((await own(body, 110)).code).toBe('2.04');
    expect(rig.server.sends(EP).map((s) => s.values)).toEqual([[{ path: '/3/0/9', value: 1, time: undefined }]]);
  });
});

describe('Send over coap+tcp (RFC 8323)', () => {
  it('delivers SenML CBOR over a TCP connection to a server that decodes it, timed by connectClient\'s wallClock', async () => {
    const rd = await new StreamRegistrationServer().start();
    const wall = Date.UTC(2027, 0, 1);
    const { client, close } = await connectClient(`coap+tcp://127.0.0.1:${rd.port}`, { endpointName: 'tcp-send', lifetime: 60, wallClock: () => wall });
    try {
      addObjects(client);
      const registered = client.next('registered');
      await client.start();
      await registered;
      const result = await client.send(['/3/0/9', '/10250/0/1']);
      expect([result.status, result.code]).toEqual(['delivered', '2.04']);
      expect(rd.sends.map((s) => [s.endpoint, s.contentFormat, s.values.map((v) => [v.path, v.value])])).toEqual([
        ['tcp-send', ContentFormat.SENML_CBOR, [['/3/0/9', 87], ['/10250/0/1', 1]]],
      ]);
      // connectClient's wallClock is the Send's clock too.
      expect(rd.sends[0]!.values.map((v) => v.time)).toEqual([new Date(wall), new Date(wall)]);
    } finally {
      await close();
      await rd.stop();
    }
  });
});

describe('DeviceClient.send', () => {
  const servers: TestLwm2mServer[] = [];
  let device: DeviceClient | undefined;
  afterEach(async () => {
    await device?.stop({ deregister: true });
    for (const s of servers.splice(0)) await s.close();
  });

  it('goes to one server: the one named, else the first registered that is not muted', async () => {
    servers.push(await TestLwm2mServer.start({ coap: fast }), await TestLwm2mServer.start({ coap: fast }));
    const [a, b] = servers as [TestLwm2mServer, TestLwm2mServer];
    device = new DeviceClient({
      endpointName: 'dc-send', transport: { coap: fast },
      factory: {
        security: [{ uri: a.uri(), shortServerId: 1 }, { uri: b.uri(), shortServerId: 2 }],
        servers: [{ shortServerId: 1, muteSend: true }, { shortServerId: 2 }],
      },
    });
    device.addInstance(new TestDevice());
    await device.start();
    await Promise.all([a.registration('dc-send'), b.registration('dc-send')]);
    const first = await device.send(['/3/0/9']);
    expect([first.shortServerId, first.code]).toEqual([2, '2.04']);
    expect([a.sends().length, b.sends().length]).toEqual([0, 1]);
    await expect(device.send(['/3/0/9'], { shortServerId: 1 })).rejects.toBeInstanceOf(SendMutedError);
    await expect(device.send(['/3/0/9'], { shortServerId: 5 })).rejects.toThrow('no LwM2M Server with Short Server ID 5 (servers: 1, 2)');
    // Server 1 unmutes itself: a Send naming it goes there.
    expect((await a.write('dc-send', '/1/0/23', '0', ContentFormat.TEXT)).code).toBe('2.04');
    expect((await device.send(['/3/0/0'], { shortServerId: 1 })).shortServerId).toBe(1);
    expect(a.sends()[0]!.byPath.get('/3/0/0')).toBe('ACME');
  });
});

/** The body of the next Send the server gets while `act` runs, as the server's endpoint received it. */
async function sentBody(rig: UdpRig, act: () => Promise<unknown>): Promise<Uint8Array> {
  let body: Uint8Array | undefined;
  const previous = rig.server.intercept;
  rig.server.intercept = (req) => {
    if (req.path[0] === 'dp') body = req.payload.slice();
    return previous?.(req);
  };
  try {
    await act();
  } finally {
    rig.server.intercept = previous;
  }
  if (!body) throw new Error('no Send reached the server');
  return body;
}
