// TestLwm2mServer's registration events (registered, updated, deregistered) and timestamps, over real UDP from a raw CoAP peer.
import { createUdpEndpoint, type CoapEndpoint } from '../../runtime/coap/index.js';
import { TestLwm2mServer, type RegistrationEvent } from 'lwm2m-gen/testing';

const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
const utf8 = new TextEncoder();
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

function register(ep: string) {
  return peer.request(server.address(), {
    method: 'POST', path: ['rd'], query: [`ep=${ep}`, 'lt=60', 'lwm2m=1.1'], contentFormat: 40, payload: utf8.encode('</3/0>'),
  });
}

test('a Register, an Update and a De-register each reach the listeners, with the registration as it is then', async () => {
  const events: Array<[RegistrationEvent['kind'], string, number]> = [];
  const stop = server.onRegistrationChange((e) => events.push([e.kind, e.registration.endpoint, e.registration.updates]));
  const before = Date.now();
  const res = await register('dev-events');
  expect(res.code).toBe('2.01');
  const reg = server.findRegistration('dev-events')!;
  expect(reg.registeredAt).toBeGreaterThanOrEqual(before);
  expect(reg.lastUpdateAt).toBe(reg.registeredAt);
  await new Promise((r) => setTimeout(r, 5));
  expect((await peer.request(server.address(), { method: 'POST', path: res.locationPath })).code).toBe('2.04');
  expect(reg.lastUpdateAt).toBeGreaterThan(reg.registeredAt);
  expect((await peer.request(server.address(), { method: 'DELETE', path: res.locationPath })).code).toBe('2.02');
  expect(events).toEqual([['registered', 'dev-events', 0], ['updated', 'dev-events', 1], ['deregistered', 'dev-events', 1]]);
  stop();
  await register('dev-events');
  expect(events).toHaveLength(3);
});

test('a new Register of the same endpoint ends the old registration, and forget() is a deregistration too', async () => {
  const events: string[] = [];
  server.onRegistrationChange((e) => events.push(`${e.kind} ${e.registration.id}`));
  await register('dev-twice');
  await register('dev-twice');
  server.forget('dev-twice');
  expect(events).toEqual(['registered 1', 'deregistered 1', 'registered 2', 'deregistered 2']);
});

test('endpoint names may hold spaces and markup (LwM2M restricts neither); control characters and an empty name are refused', async () => {
  expect((await register('<img src=x onerror=alert(1)>')).code).toBe('2.01');
  expect(server.findRegistration('<img src=x onerror=alert(1)>')).toBeDefined();
  expect((await register('bad\u0001name')).code).toBe('4.00');
  expect((await register('')).code).toBe('4.00');
});
