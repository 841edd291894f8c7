// Read-Composite and Write-Composite end to end over UDP on 127.0.0.1: paths across objects and levels, the three formats, the refusals, all-or-nothing writes, block-wise both ways.
import { TestLwm2mServer, readComposite, writeComposite } from 'lwm2m-gen/testing';
import { createCoapEndpoint, createUdpTransport, decodeMessage, OptionNumber, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { ConfigDef, DeviceDef, ServerDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';

const text = new TextDecoder();
const utf8 = new TextEncoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const objects = [ServerDef, DeviceDef, ConfigDef];

let server: TestLwm2mServer;
let endpoint: CoapEndpoint;
let client: Lwm2mClient;
let device: TestDevice;
/** Block options on the datagrams the client sent and received: [direction, option number, block number]. */
let blocks: Array<[string, number]>;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
  const udp = await createUdpTransport({ address: '127.0.0.1', port: 0 });
  blocks = [];
  const seen = (dir: string, data: Uint8Array): void => {
    const m = decodeMessage(data);
    for (const o of m?.options ?? []) if (o.number === OptionNumber.Block1 || o.number === OptionNumber.Block2) blocks.push([dir, o.number]);
  };
  endpoint = createCoapEndpoint({
    send: (data, peer) => { seen('out', data); return udp.send(data, peer); },
    onMessage: (l) => udp.onMessage((data, peer) => { seen('in', data); l(data, peer); }),
    address: () => udp.address(),
    close: () => udp.close(),
  }, fast);
  client = new Lwm2mClient({ endpointName: 'comp-dev', transport: endpoint, server: server.address(), preferredFormat: ContentFormat.TLV });
  device = new TestDevice();
  client.addInstance(new TestServer(0, { shortServerId: 3, lifetime: 300 }))
    .addInstance(device).addObject(ConfigDef, { create: (id) => new TestConfig(id) })
    .addInstance(new TestConfig(0, { level: 1, tags: ['a', 'b'] })).addInstance(new TestConfig(1, { level: 2 }));
  const registered = client.next('registered');
  await client.start();
  await registered;
});

afterEach(async () => {
  await client.stop();
  await endpoint.close();
  await server.close();
});

function fetchRaw(payload: string | Uint8Array, contentFormat: number, accept?: number, path = '/') {
  return server.request('comp-dev', path, {
    method: 'FETCH', contentFormat, payload: typeof payload === 'string' ? utf8.encode(payload) : payload,
    ...(accept !== undefined ? { accept } : {}),
  });
}

describe('Read-Composite (FETCH /)', () => {
  it('returns /3/0/0 and /3/0/9 in one 2.05 SenML JSON answer', async () => {
    const res = await fetchRaw('[{"n":"/3/0/0"},{"n":"/3/0/9"}]', ContentFormat.SENML_JSON);
    expect([res.code, res.contentFormat]).toEqual(['2.05', ContentFormat.SENML_JSON]);
    expect(JSON.parse(text.decode(res.payload))).toEqual([{ n: '/3/0/0', vs: 'ACME' }, { n: '/3/0/9', v: 87 }]);
  });

  it.each([
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['SenML CBOR', ContentFormat.SENML_CBOR],
    ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
  ] as const)('spans objects and levels in %s (a resource, an instance, a resource instance, an object)', async (_name, format) => {
    const got = await readComposite(server, 'comp-dev', objects, ['/3/0/9', '/1/0', '/10250/0/2/1', '/10250'], { format });
    expect([got.code, got.response.contentFormat]).toEqual(['2.05', format]);
    expect(got.values.get('/3/0/9')).toBe(87);
    expect(got.values.get('/1/0/1')).toBe(300);
    expect(got.values.get('/10250/0/2/1')).toBe('b');
    expect(got.values.get('/10250/1/1')).toBe(2);
    // /10250/0/2/1 lies under /10250 as well: each value once.
    expect(got.records.filter((r) => r.path.objectId === 10250 && r.path.resourceInstanceId === 1)).toHaveLength(1);
  });

  it('answers in the Accept format when it names another composite format', async () => {
    const got = await readComposite(server, 'comp-dev', objects, ['/3/0/0'], { format: ContentFormat.SENML_JSON, accept: ContentFormat.LWM2M_CBOR });
    expect([got.code, got.response.contentFormat, got.values.get('/3/0/0')]).toEqual(['2.05', ContentFormat.LWM2M_CBOR, 'ACME']);
  });

  it('leaves out a path the device lacks, and answers 4.04 when it lacks every one', async () => {
    const some = await readComposite(server, 'comp-dev', objects, ['/3/0/9', '/3/0/1', '/10250/7', '/42']);
    expect(some.code).toBe('2.05');
    expect([...some.values.keys()]).toEqual(['/3/0/9', '/3/0/1']);
    const none = await readComposite(server, 'comp-dev', objects, ['/10250/7', '/42/0/1']);
    expect(none.code).toBe('4.04');
    expect(text.decode(none.response.payload)).toContain('/10250/7');
  });

  it('refuses what it cannot serve with the spec codes', async () => {
    expect((await fetchRaw('[{"n":"/3/0/9"}]', ContentFormat.TLV)).code).toBe('4.15');
    expect((await fetchRaw('[{"n":"/3/0/9"}]', ContentFormat.SENML_JSON, ContentFormat.TLV)).code).toBe('4.06');
    expect((await fetchRaw('[{"n":"/3/0/9"', ContentFormat.SENML_JSON)).code).toBe('4.00');
    expect((await fetchRaw('[{"n":"/3/x"}]', ContentFormat.SENML_JSON)).code).toBe('4.00');
    expect((await fetchRaw('[{"n":"/3/0/9","v":1}]', ContentFormat.SENML_JSON)).code).toBe('4.00');
    expect((await fetchRaw('[]', ContentFormat.SENML_JSON)).code).toBe('4.00');
    expect((await fetchRaw('[{"n":"/0/0/3"},{"n":"/3/0/9"}]', ContentFormat.SENML_JSON)).code).toBe('4.01');
    expect((await fetchRaw('[{"n":"/3/0/9"}]', ContentFormat.SENML_JSON, undefined, '/3/0')).code).toBe('4.05');
    expect((await server.request('comp-dev', '/', { method: 'FETCH', payload: utf8.encode('[{"n":"/3/0/9"}]') })).code).toBe('4.00');
  });

  it('takes a path list larger than a block (Block1) and answers more than a block (Block2)', async () => {
    const blob = new Uint8Array(3000).map((_, i) => i & 0xff);
    client.removeInstance(10250, 1);
    client.addInstance(new TestConfig(1, { level: 2, blob }));
    // Many paths, most of them repeated: the list alone is over 1 KiB.
    const paths = ['/10250/1/5', ...Array.from({ length: 120 }, (_, i) => `/10250/${i % 2}/${i % 2 === 0 ? 2 : 1}`)];
    const got = await readComposite(server, 'comp-dev', objects, paths, { format: ContentFormat.SENML_JSON, accept: ContentFormat.SENML_CBOR });
    expect(got.code).toBe('2.05');
    expect(got.values.get('/10250/1/5')).toEqual(blob);
    expect(got.values.get('/10250/0/2/0')).toBe('a');
    expect(blocks.some(([dir, n]) => dir === 'in' && n === OptionNumber.Block1)).toBe(true);
    expect(blocks.some(([dir, n]) => dir === 'out' && n === OptionNumber.Block2)).toBe(true);
  });
});

describe('Write-Composite (iPATCH /)', () => {
  it('changes two writable resources of two objects in one request', async () => {
    const res = await writeComposite(server, 'comp-dev', objects, { '/3/0/14': '+02:00', '/10250/1/1': 7 });
    expect(res.code).toBe('2.04');
    expect(device.utcOffset).toBe('+02:00');
    expect((client.registry.instance(10250, 1) as TestConfig).level).toBe(7);
  });

  it('updates one resource instance and keeps the others', async () => {
    const res = await writeComposite(server, 'comp-dev', objects, { '/10250/0/2/1': 'B', '/10250/0/2/5': 'e' }, { format: ContentFormat.LWM2M_CBOR });
    expect(res.code).toBe('2.04');
    const got = await readComposite(server, 'comp-dev', objects, ['/10250/0/2']);
    expect([...got.values.entries()]).toEqual([['/10250/0/2/0', 'a'], ['/10250/0/2/1', 'B'], ['/10250/0/2/5', 'e']]);
  });

  it.each([
    ['a value out of range', { '/3/0/14': '+03:00', '/10250/1/1': 11 }, '4.00'],
    ['a write hook refusing', { '/3/0/14': '+03:00', '/10250/0/3': 98 }, '4.00'],
    ['a read-only resource', { '/3/0/14': '+03:00', '/3/0/9': 5 }, '4.05'],
    ['an instance the device lacks', { '/3/0/14': '+03:00', '/10250/9/1': 3 }, '4.04'],
    ['an object the device lacks', { '/3/0/14': '+03:00', '/42/0/1': 3 }, '4.04'],
  ] as const)('changes nothing when one value fails: %s', async (_name, values, code) => {
    // The server encodes /42/0/1 from the value's own type (the device's models do not know it).
    const res = await writeComposite(server, 'comp-dev', objects, values, { format: ContentFormat.SENML_CBOR });
    expect(res.code).toBe(code);
    expect(device.utcOffset).toBe('+01:00');
    expect((client.registry.instance(10250, 1) as TestConfig).level).toBe(2);
    expect((client.registry.instance(10250, 0) as TestConfig).mode).toBeUndefined();
  });

  it('refuses a body it cannot decode (4.15, 4.00) and a value twice, changing nothing', async () => {
    const put = (payload: string, contentFormat: number) => server.request('comp-dev', '/', { method: 'iPATCH', contentFormat, payload: utf8.encode(payload) });
    expect((await put('[{"n":"/3/0/14","vs":"+03:00"}]', ContentFormat.TLV)).code).toBe('4.15');
    expect((await put('[{"n":"/3/0/14","vs":"+03:00"},{"n":"/10250/1/1","vs":"x"}]', ContentFormat.SENML_JSON)).code).toBe('4.00');
    expect((await put('[{"n":"/3/0/14","vs":"+03:00"},{"n":"/3/0/14","vs":"+04:00"}]', ContentFormat.SENML_JSON)).code).toBe('4.00');
    // This device has no Security object (a connectClient device's /0 answers 4.01, as for Read-Composite).
    expect((await put('[{"n":"/3/0/14","vs":"+03:00"},{"n":"/0/0/0","vs":"coap://x"}]', ContentFormat.SENML_JSON)).code).toBe('4.04');
    expect(device.utcOffset).toBe('+01:00');
  });
});
