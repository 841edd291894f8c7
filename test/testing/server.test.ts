// TestLwm2mServer's registration interface over real UDP on 127.0.0.1: waiting for a device, refusing malformed Registers and Updates.
import { createUdpEndpoint, type CoapEndpoint, type OutgoingRequest } from '../../runtime/coap/index.js';
import {
  MalformedRegistrationError, RegistrationTimeoutError, TestLwm2mServer,
} from 'lwm2m-gen/testing';
import { fast } from '../support/registered-client.js';

const utf8 = new TextEncoder();
const LINKS = '</>;rt="oma.lwm2m",</1/0>,</3/0>';

let server: TestLwm2mServer;
let peer: CoapEndpoint;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
  peer = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ...fast });
});

afterEach(async () => {
  await peer.close();
  await server.close();
});

function register(query: string[], links: string | undefined = LINKS, contentFormat: number | undefined = 40) {
  const req: OutgoingRequest = { method: 'POST', path: ['rd'], query, payload: utf8.encode(links ?? '') };
  return peer.request(server.address(), contentFormat === undefined ? req : { ...req, contentFormat });
}

describe('TestLwm2mServer', () => {
  it('registration() resolves for a device already registered and for one that registers later', async () => {
    expect((await register(['ep=early', 'lt=60', 'lwm2m=1.1', 'b=U'])).code).toBe('2.01');
    expect((await server.registration('early')).info).toMatchObject({ endpoint: 'early', lifetime: 60, binding: 'U' });
    const waiting = server.registration('late');
    const res = await register(['ep=late']);
    expect([res.code, res.locationPath]).toEqual(['2.01', ['rd', '2']]);
    const dev = await waiting;
    expect(dev.endpoint).toBe('late');
    expect(dev.info.lifetime).toBe(86400);
    expect(server.uri()).toBe(`coap://127.0.0.1:${server.address().port}`);
  });

  it('registration() rejects with RegistrationTimeoutError when nobody comes', async () => {
    await expect(server.registration('nobody', { timeoutMs: 50 })).rejects.toBeInstanceOf(RegistrationTimeoutError);
  });

  const malformed: Array<[string, string[], string | undefined, number | undefined, RegExp]> = [
    ['no endpoint name', ['lt=60'], LINKS, 40, /no endpoint name/],
    ['an empty endpoint name', ['ep='], LINKS, 40, /not an endpoint name/],
    ['a lifetime that is not a number', ['ep=bad', 'lt=soon'], LINKS, 40, /lt=soon/],
    ['a zero lifetime', ['ep=bad', 'lt=0'], LINKS, 40, /lt=0/],
    ['an unknown binding', ['ep=bad', 'b=X'], LINKS, 40, /b=X/],
    ['a malformed LwM2M version', ['ep=bad', 'lwm2m=one'], LINKS, 40, /lwm2m=one/],
    ['no object links', ['ep=bad'], '', 40, /no object links/],
    ['object links that are not link-format', ['ep=bad'], '/3/0,</5/0', 40, /not valid link-format/],
    ['a payload in another format', ['ep=bad'], LINKS, 0, /Content-Format is 0/],
  ];
  it.each(malformed)('refuses a Register with %s with 4.00 and reports it', async (_what, query, links, cf, reason) => {
    const waiting = server.registration('bad', { timeoutMs: 2000 }).catch((e: unknown) => e);
    const res = await register(query, links, cf);
    expect(res.code).toBe('4.00');
    expect(new TextDecoder().decode(res.payload)).toMatch(reason);
    expect(server.rejections).toHaveLength(1);
    expect(server.rejections[0]).toMatchObject({ kind: 'register', peer: peer.address() });
    expect(server.rejections[0]!.reason).toMatch(reason);
    expect(server.registrations.size).toBe(0);
    const err = await waiting;
    if (query.includes('ep=bad')) {
      expect(err).toBeInstanceOf(MalformedRegistrationError);
      expect((err as MalformedRegistrationError).rejection.endpoint).toBe('bad');
    } else expect(err).toBeInstanceOf(RegistrationTimeoutError);
  });

  it('refuses a malformed Update with 4.00 and keeps the registration as it was', async () => {
    const reg = await register(['ep=upd', 'lt=60']);
    const location = reg.locationPath;
    const bad = await peer.request(server.address(), { method: 'POST', path: location, query: ['lt=-5'] });
    expect(bad.code).toBe('4.00');
    const badLinks = await peer.request(server.address(), {
      method: 'POST', path: location, contentFormat: 40, payload: utf8.encode('<3/0'),
    });
    expect(badLinks.code).toBe('4.00');
    expect(server.rejections.map((r) => [r.kind, r.endpoint])).toEqual([['update', 'upd'], ['update', 'upd']]);
    expect(server.findRegistration('upd')).toMatchObject({ lifetime: 60, updates: 0, links: LINKS });
    const good = await peer.request(server.address(), { method: 'POST', path: location, query: ['lt=90'] });
    expect(good.code).toBe('2.04');
    expect(server.findRegistration('upd')).toMatchObject({ lifetime: 90, updates: 1 });
  });
});
