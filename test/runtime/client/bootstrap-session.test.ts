// BootstrapSession on its own: each bootstrap operation on the staging, refusals that keep nothing, the Finish check, commit.
import { ContentFormat, encodeRecords, type Lwm2mRecord } from '../../../runtime/codec/index.js';
import type { IncomingRequest } from '../../../runtime/coap/types.js';
import {
  BootstrapSession, ObjectRegistry, SECURITY_MODEL, SERVER_MODEL, SecurityInstance, ServerInstance, finishProblem,
} from '../../../runtime/client/index.js';
import { securityRecords, serverRecords } from 'lwm2m-gen/testing';
import { ConfigDef, TestConfig, TestDevice } from '../../support/objects.js';

const text = new TextDecoder();
const utf8 = new TextEncoder();
const lookup = (o: number, r: number) => (o === 0 ? SECURITY_MODEL.resource(r) : o === 1 ? SERVER_MODEL.resource(r) : o === ConfigDef.id ? ConfigDef.resource(r) : undefined);
const peer = { address: '127.0.0.1', port: 5783 };

function req(method: IncomingRequest['method'], path: string, extra: Partial<IncomingRequest> = {}): IncomingRequest {
  return {
    peer, method, path: path.split('/').filter((s) => s !== ''), query: [], token: new Uint8Array([1]), confirmable: true,
    payload: new Uint8Array(0), options: [], ...extra,
  };
}
function put(path: string, records: readonly Lwm2mRecord[]): IncomingRequest {
  const ids = path.split('/').filter((s) => s !== '').map(Number);
  const target = { objectId: ids[0]!, ...(ids[1] !== undefined ? { instanceId: ids[1] } : {}) };
  return req('PUT', path, { contentFormat: ContentFormat.TLV, payload: encodeRecords(ContentFormat.TLV, target, records, lookup) });
}

function registry(): ObjectRegistry {
  const r = new ObjectRegistry();
  r.addObject(SECURITY_MODEL);
  r.addInstance(new SecurityInstance(0, { uri: 'coap://bs.example:5683', bootstrap: true }));
  r.addInstance(new TestDevice());
  return r;
}

describe('BootstrapSession', () => {
  it('stages writes, and commits /0 and /1 only after a consistent Finish', async () => {
    const reg = registry();
    const s = new BootstrapSession(reg);
    expect((await s.handle(put('/0/1', securityRecords(1, { uri: 'coap://dm:5683', bootstrap: false, shortServerId: 3 })))).response.code).toBe('2.04');
    // Not consistent yet: no /1 instance for Short Server ID 3.
    const early = await s.handle(req('POST', '/bs'));
    expect(early.response.code).toBe('4.06');
    expect(text.decode(early.response.payload)).toBe('/0/1: no /1 instance has Short Server ID 3');
    expect((await s.handle(put('/1/1', serverRecords(1, { uri: 'coap://dm:5683', shortServerId: 3, lifetime: 77 })))).response.code).toBe('2.04');
    expect(reg.instances(1)).toEqual([]);
    const finish = await s.handle(req('POST', '/bs'));
    expect(finish).toMatchObject({ operation: 'finish', finished: true, response: { code: '2.04' } });
    s.commit();
    expect(reg.instances(0).map((i) => i.instanceId)).toEqual([0, 1]);
    expect(reg.instances(1)[0]!.readResource(1)).toBe(77);
    expect((reg.instance(0, 1) as SecurityInstance).account()).toMatchObject({ uri: 'coap://dm:5683', shortServerId: 3, bootstrap: false, mode: 3 });
  });

  it('refuses a write with a bad value (4.00) and keeps none of the instances it named', async () => {
    const s = new BootstrapSession(registry());
    const good = securityRecords(1, { uri: 'coap://dm', bootstrap: false, shortServerId: 1 });
    const bad = securityRecords(2, { uri: 'coap://dm2', bootstrap: false, shortServerId: 70000 });
    const res = await s.handle(put('/0', [...good, ...bad]));
    expect(res.response.code).toBe('4.00');
    expect(text.decode(res.response.payload)).toMatch(/\/0\/2\/10: value 70000 is outside the range 1\.\.65534/);
    expect(s.security().map((i) => i.instanceId)).toEqual([0]);
    expect((await s.handle(req('PUT', '/0/1', { contentFormat: ContentFormat.TLV, payload: new Uint8Array([0xc8, 0x00]) }))).response.code).toBe('4.00');
    expect((await s.handle(req('PUT', '/0/1', { payload: utf8.encode('x') }))).response.code).toBe('4.00');
    expect((await s.handle(put('/9/0', []))).response.code).toBe('4.04');
  });

  it('Bootstrap-Delete keeps the Bootstrap-Server account; Discover lists ssid and uri, never a key; Read reaches /1 only', async () => {
    const s = new BootstrapSession(registry());
    await s.handle(put('/0/4', securityRecords(4, { uri: 'coaps://dm:5684', bootstrap: false, shortServerId: 9, pskIdentity: 'id', pskKey: utf8.encode('SECRET-KEY') })));
    await s.handle(put('/1/4', serverRecords(4, { uri: 'coaps://dm:5684', shortServerId: 9 })));
    const d = await s.handle(req('GET', '/', { accept: ContentFormat.LINK_FORMAT }));
    const links = text.decode(d.response.payload);
    expect(links).toBe('</>;lwm2m=1.1,</0>;ver=1.2,</0/0>;uri="coap://bs.example:5683",</0/4>;ssid=9;uri="coaps://dm:5684",</1>;ver=1.2,</1/4>;ssid=9,</3>;ver=1.1,</3/0>');
    expect(text.decode((await s.handle(req('GET', '/1', { accept: ContentFormat.LINK_FORMAT }))).response.payload)).toBe('</>;lwm2m=1.1,</1>;ver=1.2,</1/4>;ssid=9');
    expect(text.decode((await s.handle(req('GET', '/1/4/0'))).response.payload)).toBe('9');
    expect((await s.handle(req('GET', '/1/4', { accept: ContentFormat.SENML_JSON }))).response.code).toBe('2.05');
    expect((await s.handle(req('GET', '/0/4'))).response.code).toBe('4.01');
    expect((await s.handle(req('GET', '/3/0'))).response.code).toBe('4.05');
    expect((await s.handle(req('DELETE', '/0/0'))).response.code).toBe('4.00');
    expect((await s.handle(req('DELETE', '/'))).response.code).toBe('2.02');
    expect(s.security().map((i) => i.instanceId)).toEqual([0]);
    expect(s.servers()).toEqual([]);
    expect(finishProblem(s.security(), s.servers())).toMatch(/no LwM2M Server account/);
  });

  it('the Finish check names what is wrong: unsupported mode, bad URI, PSK without a key', () => {
    const servers = [new ServerInstance(0, { shortServerId: 1 })];
    const check = (input: ConstructorParameters<typeof SecurityInstance>[1]) => finishProblem([new SecurityInstance(1, input)], servers);
    expect(check({ uri: 'coap://dm', shortServerId: 1 })).toBeUndefined();
    expect(check({ uri: 'coap://dm', shortServerId: 1, mode: 2 })).toMatch(/Security Mode 2 is not supported/);
    expect(check({ uri: 'http://dm', shortServerId: 1 })).toMatch(/unsupported scheme http/);
    expect(check({ uri: 'coaps://dm', shortServerId: 1, mode: 0 })).toMatch(/\/0\/1: PSK mode without an identity and a key/);
    expect(check({ uri: 'coap://dm' })).toMatch(/has no Short Server ID/);
  });

  describe('Bootstrap-Write to the app\'s objects', () => {
    const cfg = (iid: number, rid: number, value: Lwm2mRecord['value']): Lwm2mRecord => ({ path: { objectId: ConfigDef.id, instanceId: iid, resourceId: rid }, value });
    function appRegistry(): ObjectRegistry {
      const r = registry();
      r.addObject(ConfigDef, { create: (id) => new TestConfig(id) });
      r.addInstance(new TestConfig(0, { level: 1 }));
      return r;
    }
    async function account(s: BootstrapSession): Promise<void> {
      await s.handle(put('/0/1', securityRecords(1, { uri: 'coap://dm:5683', bootstrap: false, shortServerId: 3 })));
      await s.handle(put('/1/1', serverRecords(1, { uri: 'coap://dm:5683', shortServerId: 3 })));
    }

    it('stages them, a new instance by the object\'s factory and a resource a DM server only reads, and stores them at commit', async () => {
      const reg = appRegistry();
      const s = new BootstrapSession(reg);
      await account(s);
      expect((await s.handle(put('/10250/0', [cfg(0, 1, 5), cfg(0, 6, 4242)]))).response.code).toBe('2.04');
      expect((await s.handle(put('/10250/7', [cfg(7, 0, 'seven'), cfg(7, 1, 2)]))).response.code).toBe('2.04');
      expect((await s.handle(put('/10250/0/3', [cfg(0, 3, 4)]))).response.code).toBe('2.04');
      // Discover shows the instance the Finish would create; nothing reaches the app before the Finish.
      const links = text.decode((await s.handle(req('GET', '/10250', { accept: ContentFormat.LINK_FORMAT }))).response.payload);
      expect(links).toBe('</>;lwm2m=1.1,</10250/0>,</10250/7>');
      expect((reg.instance(ConfigDef.id, 0) as TestConfig).level).toBe(1);
      expect(reg.instance(ConfigDef.id, 7)).toBeUndefined();
      expect((await s.handle(req('POST', '/bs'))).response.code).toBe('2.04');
      expect((reg.instance(ConfigDef.id, 0) as TestConfig).level).toBe(1);
      s.commit();
      const zero = reg.instance(ConfigDef.id, 0) as TestConfig;
      expect([zero.level, zero.mode, zero.readResource(6)]).toEqual([5, 4, 4242]);
      expect((reg.instance(ConfigDef.id, 7) as TestConfig).name).toBe('seven');
    });

    it('refuses a value the model refuses (4.00, nothing staged), an instance the object cannot take (4.04) and a value for an Execute resource (4.00)', async () => {
      const reg = appRegistry();
      const s = new BootstrapSession(reg);
      await account(s);
      const bad = await s.handle(put('/10250', [cfg(5, 0, 'five'), cfg(0, 1, 11)]));
      expect(bad.response.code).toBe('4.00');
      expect(text.decode(bad.response.payload)).toMatch(/\/10250\/0\/1: value 11 is outside the range 0\.\.10/);
      expect((await s.handle(put('/3/1', [{ path: { objectId: 3, instanceId: 1, resourceId: 0 }, value: 'x' }]))).response.code).toBe('4.04');
      expect((await s.handle(req('PUT', '/10250/0/4', { contentFormat: ContentFormat.TEXT, payload: utf8.encode('') }))).response.code).toBe('4.00');
      expect((await s.handle(req('POST', '/bs'))).response.code).toBe('2.04');
      s.commit();
      expect(reg.instance(ConfigDef.id, 5)).toBeUndefined();
      expect((reg.instance(ConfigDef.id, 0) as TestConfig).level).toBe(1);
    });

    it('runs the app\'s write hooks at Finish: a refusal makes the Finish 4.06 naming the path, and nothing is committed', async () => {
      const reg = appRegistry();
      const s = new BootstrapSession(reg);
      await account(s);
      expect((await s.handle(put('/10250/7', [cfg(7, 0, 'seven')]))).response.code).toBe('2.04');
      expect((await s.handle(put('/10250/0', [cfg(0, 1, 6), cfg(0, 3, 98)]))).response.code).toBe('2.04');
      const finish = await s.handle(req('POST', '/bs'));
      expect(finish.response.code).toBe('4.06');
      expect(text.decode(finish.response.payload)).toBe('/10250/0: mode 98 is refused');
      expect(finish.finished).toBeUndefined();
      expect((reg.instance(ConfigDef.id, 0) as TestConfig).level).toBe(1);
      expect(reg.instance(ConfigDef.id, 7)).toBeUndefined();
      expect(reg.instances(1)).toEqual([]);
    });
  });
});
