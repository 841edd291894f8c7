// Routing of device-management requests to instances: operations, response codes, formats and atomicity, without sockets.
import { jest } from '@jest/globals';
import { ContentFormat, decodeRecords, encodeRecords, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import type { CoapMethod, IncomingRequest } from '../../../runtime/coap/types.js';
import { AttributeStore } from '../../../runtime/notify/index.js';
import { ObjectRegistry } from '../../../runtime/client/registry.js';
import { RequestRouter, type ObserveHooks } from '../../../runtime/client/router.js';
import { registrationLinks } from '../../../runtime/client/links.js';
import { ConfigDef, DeviceDef, ServerDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';
import { defineObject } from '../../../runtime/model.js';
import { attachResourceBehaviour } from '../../../runtime/object/instance.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const TLV = ContentFormat.TLV;

function req(method: CoapMethod, path: string, extra: Partial<IncomingRequest> = {}): IncomingRequest {
  return {
    peer: { address: '127.0.0.1', port: 5683 }, method, path: path.split('/').filter((s) => s !== ''), query: [],
    token: new Uint8Array([1, 2]), confirmable: true, payload: new Uint8Array(0), options: [], ...extra,
  };
}

function setup(observe?: ObserveHooks) {
  const registry = new ObjectRegistry();
  const attributes = new AttributeStore();
  const device = new TestDevice();
  const cfg0 = new TestConfig(0, { level: 5, tags: ['a', 'b'], mode: 1, blob: new Uint8Array([1, 2, 3]) });
  registry.addInstance(device);
  registry.addObject(ConfigDef, { create: (id) => new TestConfig(id) });
  registry.addInstance(cfg0);
  registry.addInstance(new TestServer(0, { shortServerId: 101, lifetime: 300 }));
  const errors: Error[] = [];
  const router = new RequestRouter({
    registry, attributes, preferredFormat: TLV,
    onInternalError: (e) => errors.push(e),
    ...(observe ? { observe } : {}),
  });
  const tlv = (records: Lwm2mRecord[], base: string) =>
    encodeRecords(TLV, pathOf(base), records, registry.lookup);
  return { registry, attributes, device, cfg0, router, errors, tlv };
}

function pathOf(s: string) {
  const [objectId, instanceId, resourceId, resourceInstanceId] = s.split('/').filter((x) => x !== '').map(Number);
  return { objectId: objectId!, ...(instanceId !== undefined ? { instanceId } : {}),
    ...(resourceId !== undefined ? { resourceId } : {}), ...(resourceInstanceId !== undefined ? { resourceInstanceId } : {}) };
}

async function code(router: RequestRouter, r: IncomingRequest): Promise<string> {
  return (await router.handle(r)).response.code;
}

describe('Read', () => {
  it('answers a single resource as text/plain and an Opaque one as octets', async () => {
    const { router } = setup();
    const { response, path } = await router.handle(req('GET', '/3/0/0'));
    expect(response.code).toBe('2.05');
    expect(response.contentFormat).toBe(ContentFormat.TEXT);
    expect(text.decode(response.payload)).toBe('ACME');
    expect(path).toEqual({ objectId: 3, instanceId: 0, resourceId: 0 });
    const blob = (await router.handle(req('GET', '/10250/0/5'))).response;
    expect(blob.contentFormat).toBe(ContentFormat.OPAQUE);
    expect([...blob.payload!]).toEqual([1, 2, 3]);
  });

  it('answers instances, objects and multiple resources in the preferred format, or the Accept given', async () => {
    const { router, registry } = setup();
    const inst = (await router.handle(req('GET', '/3/0'))).response;
    expect(inst.code).toBe('2.05');
    expect(inst.contentFormat).toBe(TLV);
    const records = decodeRecords(TLV, { objectId: 3, instanceId: 0 }, inst.payload!, registry.lookup);
    expect(records.find((r) => r.path.resourceId === 9)?.value).toBe(87);
    expect(records.filter((r) => r.path.resourceId === 6).map((r) => r.value)).toEqual([1, 5]);
    // the executable Reboot is not part of a Read
    expect(records.some((r) => r.path.resourceId === 4)).toBe(false);

    const multi = (await router.handle(req('GET', '/3/0/6'))).response;
    expect(multi.contentFormat).toBe(TLV);
    const obj = (await router.handle(req('GET', '/10250', { accept: TLV }))).response;
    expect(obj.code).toBe('2.05');
    expect(decodeRecords(TLV, { objectId: 10250 }, obj.payload!, registry.lookup).length).toBeGreaterThan(3);
    const ri = (await router.handle(req('GET', '/3/0/6/1'))).response;
    expect(text.decode(ri.payload)).toBe('5');
    const asTlv = (await router.handle(req('GET', '/3/0/9', { accept: TLV }))).response;
    expect(decodeRecords(TLV, { objectId: 3, instanceId: 0, resourceId: 9 }, asTlv.payload!, registry.lookup)[0]!.value).toBe(87);
  });

  it('refuses Accept it cannot honour with 4.06', async () => {
    const { router } = setup();
    expect(await code(router, req('GET', '/3/0', { accept: ContentFormat.TEXT }))).toBe('4.06');
    expect(await code(router, req('GET', '/3/0/6', { accept: ContentFormat.TEXT }))).toBe('4.06');
    expect(await code(router, req('GET', '/3/0/0', { accept: ContentFormat.OPAQUE }))).toBe('4.06');
    expect(await code(router, req('GET', '/3/0/0', { accept: 9999 }))).toBe('4.06');
  });

  it('answers 4.04 for unknown paths and 4.05 for an executable resource', async () => {
    const { router } = setup();
    for (const p of ['/4', '/3/1', '/3/0/2', '/3/0/6/7', '/rd', '/3/x', '/', '/3/0/0/0/0', '/70000']) {
      expect([p, await code(router, req('GET', p))]).toEqual([p, '4.04']);
    }
    expect(await code(router, req('GET', '/3/0/4'))).toBe('4.05');
  });

  it('keeps the Security object away from the management server', async () => {
    const { router, registry } = setup();
    registry.addObject(defineObject({
      id: 0, name: 'LwM2M Security', urn: 'urn:oma:lwm2m:oma:0', objectVersion: '1.0', lwm2mVersion: '1.0',
      multiple: true, mandatory: true, resources: [{ id: 0, name: 'LwM2M Server URI', operations: '', type: 'String', multiple: false, mandatory: true }],
    }));
    expect(await code(router, req('GET', '/0'))).toBe('4.01');
    expect(await code(router, req('DELETE', '/0/0'))).toBe('4.05');
  });

  it('passes GET Observe=0 to the hook and answers with its sequence number; Observe=1 cancels', async () => {
    const onObserve = jest.fn<NonNullable<ObserveHooks['onObserve']>>(() => 7);
    const onCancelObserve = jest.fn<NonNullable<ObserveHooks['onCancelObserve']>>();
    const { router } = setup({ onObserve, onCancelObserve });
    const r = (await router.handle(req('GET', '/3/0/9', { observe: 0 }))).response;
    expect(r).toMatchObject({ code: '2.05', observe: 7 });
    expect(onObserve).toHaveBeenCalledWith(expect.objectContaining({ path: { objectId: 3, instanceId: 0, resourceId: 9 }, contentFormat: 0 }));
    // a failed read registers nothing
    expect(await code(router, req('GET', '/3/0/2', { observe: 0 }))).toBe('4.04');
    expect(onObserve).toHaveBeenCalledTimes(1);
    const c = (await router.handle(req('GET', '/3/0/9', { observe: 1 }))).response;
    expect(c.observe).toBeUndefined();
    expect(onCancelObserve).toHaveBeenCalledTimes(1);
  });
});

describe('Write', () => {
  it('replaces a single resource from text/plain', async () => {
    const { router, device } = setup();
    expect(await code(router, req('PUT', '/3/0/14', { contentFormat: 0, payload: utf8.encode('+02:00') }))).toBe('2.04');
    expect(device.utcOffset).toBe('+02:00');
  });

  it('answers 4.05 for read-only, 4.00 for bad values and payloads, 4.15 for unknown formats, and changes nothing', async () => {
    const { router, cfg0, device } = setup();
    expect(await code(router, req('PUT', '/3/0/0', { contentFormat: 0, payload: utf8.encode('X') }))).toBe('4.05');
    expect(await code(router, req('PUT', '/10250/0/1', { contentFormat: 0, payload: utf8.encode('11') }))).toBe('4.00');
    expect(await code(router, req('PUT', '/10250/0/1', { contentFormat: 0, payload: utf8.encode('abc') }))).toBe('4.00');
    expect(await code(router, req('PUT', '/10250/0/1', { contentFormat: 9999, payload: utf8.encode('3') }))).toBe('4.15');
    expect(await code(router, req('PUT', '/10250/0/1', { payload: utf8.encode('3') }))).toBe('4.00');
    expect(await code(router, req('PUT', '/10250/0/1', { contentFormat: TLV, payload: new Uint8Array([0xff, 0xff]) }))).toBe('4.00');
    expect(await code(router, req('PUT', '/10250/0/9', { contentFormat: 0, payload: utf8.encode('3') }))).toBe('4.04');
    expect(await code(router, req('PUT', '/10250/5/1', { contentFormat: 0, payload: utf8.encode('3') }))).toBe('4.04');
    expect(await code(router, req('PUT', '/10250', { contentFormat: 0, payload: utf8.encode('3') }))).toBe('4.05');
    expect(cfg0.level).toBe(5);
    expect(device.readResource(0)).toBe('ACME');
  });

  it('replaces an instance atomically: one bad value refuses the whole request', async () => {
    const { router, cfg0, tlv } = setup();
    const bad = tlv([
      { path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'renamed' },
      { path: { objectId: 10250, instanceId: 0, resourceId: 1 }, value: 11 },
    ], '/10250/0');
    expect(await code(router, req('PUT', '/10250/0', { contentFormat: TLV, payload: bad }))).toBe('4.00');
    expect(cfg0.name).toBe('cfg0');
    const good = tlv([
      { path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'renamed' },
      { path: { objectId: 10250, instanceId: 0, resourceId: 1 }, value: 9 },
    ], '/10250/0');
    expect(await code(router, req('PUT', '/10250/0', { contentFormat: TLV, payload: good }))).toBe('2.04');
    expect([cfg0.name, cfg0.level]).toEqual(['renamed', 9]);
  });

  it('turns a throwing write hook into 5.00 (typed errors keep their code) and stores nothing', async () => {
    const { router, cfg0, tlv, errors } = setup();
    const payload = (mode: number) => tlv([
      { path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'renamed' },
      { path: { objectId: 10250, instanceId: 0, resourceId: 3 }, value: mode },
    ], '/10250/0');
    expect(await code(router, req('PUT', '/10250/0', { contentFormat: TLV, payload: payload(99) }))).toBe('5.00');
    expect(errors.map((e) => e.message)).toEqual(['hook exploded']);
    expect(await code(router, req('POST', '/10250/0', { contentFormat: TLV, payload: payload(98) }))).toBe('4.00');
    expect([cfg0.name, cfg0.mode]).toEqual(['cfg0', 1]);
  });

  it('updates part of an instance with POST, and resource instances of a multiple resource', async () => {
    const { router, cfg0, tlv } = setup();
    const p = tlv([{ path: { objectId: 10250, instanceId: 0, resourceId: 1 }, value: 2 }], '/10250/0');
    expect(await code(router, req('POST', '/10250/0', { contentFormat: TLV, payload: p }))).toBe('2.04');
    expect([cfg0.name, cfg0.level]).toEqual(['cfg0', 2]);
    expect(await code(router, req('PUT', '/10250/0/2/1', { contentFormat: 0, payload: utf8.encode('B') }))).toBe('2.04');
    expect(cfg0.readResource(2)).toEqual(new Map([[0, 'a'], [1, 'B']]));
    const add = tlv([{ path: { objectId: 10250, instanceId: 0, resourceId: 2, resourceInstanceId: 5 }, value: 'e' }], '/10250/0/2');
    expect(await code(router, req('POST', '/10250/0/2', { contentFormat: TLV, payload: add }))).toBe('2.04');
    expect(cfg0.readResource(2)).toEqual(new Map([[0, 'a'], [1, 'B'], [5, 'e']]));
    expect(await code(router, req('PUT', '/10250/0/2', { contentFormat: TLV, payload: add }))).toBe('2.04');
    expect(cfg0.readResource(2)).toEqual(new Map([[5, 'e']]));
  });
});

describe('Execute', () => {
  it('runs the handler with its arguments; refuses non-executables and bad arguments; a throw is 5.00', async () => {
    const { router, device, cfg0, errors } = setup();
    expect(await code(router, req('POST', '/3/0/4', { payload: utf8.encode("0='now',1") }))).toBe('2.04');
    expect(device.reboots[0]!.args).toEqual(new Map([[0, 'now'], [1, undefined]]));
    expect(await code(router, req('POST', '/3/0/0'))).toBe('4.05');
    expect(await code(router, req('POST', '/3/0/4', { payload: utf8.encode('x=') }))).toBe('4.00');
    expect(await code(router, req('POST', '/10250/0/4', { payload: utf8.encode("0='boom'") }))).toBe('5.00');
    expect(errors).toHaveLength(1);
    expect(await code(router, req('POST', '/10250/0/4'))).toBe('2.04');
    expect(cfg0.applied).toEqual(['']);
    expect(await code(router, req('POST', '/3/0/4/0'))).toBe('4.05');
    expect(await code(router, req('POST', '/3/1/4'))).toBe('4.04');
  });

  it('runs an Execute through behaviour attached by resource id, which shows in Discover', async () => {
    const registry = new ObjectRegistry();
    const server = new TestServer(0, { shortServerId: 1, lifetime: 60 });
    registry.addInstance(server);
    const seen: string[] = [];
    attachResourceBehaviour(server, 8, { execute: (args) => { seen.push(args.raw); } });
    const router = new RequestRouter({ registry, attributes: new AttributeStore(), preferredFormat: TLV });
    expect(await code(router, req('POST', '/1/0/8', { payload: utf8.encode('1') }))).toBe('2.04');
    // no behaviour and not implemented by the app
    expect(await code(router, req('POST', '/1/0/4'))).toBe('4.04');
    expect(seen).toEqual(['1']);
    const links = new TextDecoder().decode((await router.handle(req('GET', '/1/0', { accept: 40 }))).response.payload);
    expect(links).toContain('</1/0/8>');
    expect(links).not.toContain('</1/0/4>');
    void ServerDef;
  });
});

describe('Create and Delete', () => {
  it('creates an instance with a chosen id or the one in the payload, answering 2.01 with Location-Path', async () => {
    const { router, registry, tlv } = setup();
    const noId = tlv([{ path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'made' }], '/10250/0');
    // the same TLV resources, but without the instance wrapper: the client picks the id
    const bare = noId;
    const created = (await router.handle(req('POST', '/10250', { contentFormat: TLV, payload: bare }))).response;
    expect(created).toMatchObject({ code: '2.01', locationPath: ['10250', '1'] });
    expect((registry.instance(10250, 1) as TestConfig).name).toBe('made');
    // Name is mandatory and writable: a Create without it is refused and makes nothing.
    const noName = tlv([{ path: { objectId: 10250, instanceId: 7, resourceId: 1 }, value: 4 }], '/10250');
    expect(await code(router, req('POST', '/10250', { contentFormat: TLV, payload: noName }))).toBe('4.00');
    expect(registry.instance(10250, 7)).toBeUndefined();
    const withId = tlv([
      { path: { objectId: 10250, instanceId: 7, resourceId: 0 }, value: 'seven' },
      { path: { objectId: 10250, instanceId: 7, resourceId: 1 }, value: 4 },
    ], '/10250');
    const r7 = (await router.handle(req('POST', '/10250', { contentFormat: TLV, payload: withId }))).response;
    expect(r7).toMatchObject({ code: '2.01', locationPath: ['10250', '7'] });
    expect((registry.instance(10250, 7) as TestConfig).level).toBe(4);
    // the instance exists already
    expect(await code(router, req('POST', '/10250', { contentFormat: TLV, payload: withId }))).toBe('4.00');
  });

  it('creates nothing when a value is refused, and 4.05 for objects without a factory', async () => {
    const { router, registry, tlv } = setup();
    const bad = tlv([
      { path: { objectId: 10250, instanceId: 3, resourceId: 0 }, value: 'three' },
      { path: { objectId: 10250, instanceId: 3, resourceId: 1 }, value: 50 },
    ], '/10250');
    expect(await code(router, req('POST', '/10250', { contentFormat: TLV, payload: bad }))).toBe('4.00');
    expect(registry.instance(10250, 3)).toBeUndefined();
    const ro = tlv([
      { path: { objectId: 10250, instanceId: 3, resourceId: 0 }, value: 'three' },
      { path: { objectId: 10250, instanceId: 3, resourceId: 6 }, value: 9 },
    ], '/10250');
    // Create may set read-only resources
    expect(await code(router, req('POST', '/10250', { contentFormat: TLV, payload: ro }))).toBe('2.01');
    expect(registry.instance(10250, 3)!.readResource(6)).toBe(9);
    expect(await code(router, req('POST', '/3', { contentFormat: TLV, payload: new Uint8Array(0) }))).toBe('4.05');
  });

  it('deletes instances, but not objects, resources or the Server instance it is told to protect', async () => {
    const { router, registry, attributes } = setup();
    attributes.apply({ objectId: 10250, instanceId: 0 }, { set: { pmin: 5 }, clear: [] });
    expect(await code(router, req('DELETE', '/10250/0'))).toBe('2.02');
    expect(registry.instance(10250, 0)).toBeUndefined();
    expect(await code(router, req('DELETE', '/10250/0'))).toBe('4.04');
    expect(await code(router, req('DELETE', '/10250'))).toBe('4.05');
    expect(await code(router, req('DELETE', '/3/0/1'))).toBe('4.05');
    const guarded = new RequestRouter({
      registry, attributes, preferredFormat: TLV, protectedInstance: (o, i) => o === 1 && i === 0,
    });
    expect(await code(guarded, req('DELETE', '/1/0'))).toBe('4.05');
    expect(registry.instance(1, 0)).toBeDefined();
  });
});

describe('Discover and Write-Attributes', () => {
  it('lists an object with its version, instances, resources, dim and attributes', async () => {
    const { router } = setup();
    expect(await code(router, req('PUT', '/3', { query: ['pmin=10'] }))).toBe('2.04');
    expect(await code(router, req('PUT', '/3/0/9', { query: ['pmax=60', 'gt=50'] }))).toBe('2.04');
    const d = (await router.handle(req('GET', '/3', { accept: 40 }))).response;
    expect(d.code).toBe('2.05');
    expect(d.contentFormat).toBe(40);
    expect(text.decode(d.payload)).toBe(
      '</3>;ver=1.1;pmin=10,</3/0>,</3/0/0>,</3/0/1>,</3/0/4>,</3/0/6>;dim=2,</3/0/9>;pmax=60;gt=50,</3/0/13>,</3/0/14>,</3/0/16>',
    );
    const r = (await router.handle(req('GET', '/3/0/9', { accept: 40 }))).response;
    expect(text.decode(r.payload)).toBe('</3/0/9>;pmax=60;gt=50');
    const i = (await router.handle(req('GET', '/10250/0', { accept: 40 }))).response;
    expect(text.decode(i.payload)).toBe('</10250/0>,</10250/0/0>,</10250/0/1>,</10250/0/2>;dim=2,</10250/0/3>,</10250/0/4>,</10250/0/5>,</10250/0/6>');
    expect(await code(router, req('GET', '/3/0/2', { accept: 40 }))).toBe('4.04');
  });

  it('refuses bad attributes with 4.00 and keeps what was stored', async () => {
    const { router, attributes } = setup();
    expect(await code(router, req('PUT', '/3/0/9', { query: ['pmin=10', 'pmax=20'] }))).toBe('2.04');
    expect(await code(router, req('PUT', '/3/0/9', { query: ['pmax=5'] }))).toBe('4.00');
    expect(await code(router, req('PUT', '/3/0/9', { query: ['bogus=1'] }))).toBe('4.00');
    expect(await code(router, req('PUT', '/3/0/0', { query: ['gt=1'] }))).toBe('4.00');
    expect(await code(router, req('PUT', '/3/0/2', { query: ['pmin=1'] }))).toBe('4.04');
    expect(await code(router, req('PUT', '/3/0/9'))).toBe('4.00');
    expect(attributes.get({ objectId: 3, instanceId: 0, resourceId: 9 })).toEqual({ pmin: 10, pmax: 20 });
  });

  it('answers 4.05 for methods LwM2M does not route here', async () => {
    const { router } = setup();
    expect(await code(router, req('FETCH', '/3/0'))).toBe('4.05');
    expect(await code(router, req('iPATCH', '/3/0'))).toBe('4.05');
  });
});

describe('SenML and registration links', () => {
  it('reads in SenML CBOR by default when preferred, and takes SenML JSON writes and creates', async () => {
    const registry = new ObjectRegistry();
    registry.addInstance(new TestDevice());
    registry.addObject(ConfigDef, { create: (id) => new TestConfig(id) });
    const router = new RequestRouter({ registry, attributes: new AttributeStore(), preferredFormat: ContentFormat.SENML_CBOR });
    const inst = (await router.handle(req('GET', '/3/0'))).response;
    expect(inst.contentFormat).toBe(ContentFormat.SENML_CBOR);
    const records = decodeRecords(ContentFormat.SENML_CBOR, { objectId: 3, instanceId: 0 }, inst.payload!, registry.lookup);
    expect(records.find((r) => r.path.resourceId === 0)?.value).toBe('ACME');

    const senml = utf8.encode(JSON.stringify([{ bn: '/10250/2/', n: '0', vs: 'two' }, { n: '1', v: 6 }]));
    const created = (await router.handle(req('POST', '/10250', { contentFormat: ContentFormat.SENML_JSON, payload: senml }))).response;
    expect(created).toMatchObject({ code: '2.01', locationPath: ['10250', '2'] });
    expect((registry.instance(10250, 2) as TestConfig).level).toBe(6);
    const write = utf8.encode(JSON.stringify([{ n: '/10250/2/1', v: 8 }]));
    expect(await code(router, req('POST', '/10250/2', { contentFormat: ContentFormat.SENML_JSON, payload: write }))).toBe('2.04');
    expect((registry.instance(10250, 2) as TestConfig).level).toBe(8);
    // a record outside the target is refused
    expect(await code(router, req('POST', '/10250/2', { contentFormat: ContentFormat.SENML_JSON,
      payload: utf8.encode(JSON.stringify([{ n: '/3/0/14', vs: 'x' }])) }))).toBe('4.00');
  });

  it('lists objects without instances bare, versions on their own link, and never the Security object', async () => {
    const { registry } = setup();
    registry.addObject(defineObject({
      id: 0, name: 'LwM2M Security', urn: 'urn:oma:lwm2m:oma:0', objectVersion: '1.0', lwm2mVersion: '1.0',
      multiple: true, mandatory: true, resources: [],
    }));
    registry.addObject(defineObject({
      id: 5, name: 'Firmware Update', urn: 'urn:oma:lwm2m:oma:5', objectVersion: '1.0', lwm2mVersion: '1.0',
      multiple: false, mandatory: false, resources: [],
    }));
    expect(registrationLinks(registry, { contentFormat: 112 })).toBe(
      '</>;rt="oma.lwm2m";ct=112,</1/0>,</3>;ver=1.1,</3/0>,</5>,</10250/0>',
    );
  });
});
