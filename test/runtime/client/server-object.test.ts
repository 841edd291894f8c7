// The Server object (/1) as the runtime's: made from connectClient's options, checked against the spec, lt=/b= and /1 agreeing; over real UDP.
import { ContentFormat } from '../../../runtime/codec/index.js';
import {
  CLIENT_HANDLED_EXECUTES, SERVER_MODEL, ServerInstance, checkBinding, connectClient, type ConnectedClient,
} from '../../../runtime/client/index.js';
import { ValueError } from '../../../runtime/errors.js';
import { LwM2MServer, LwM2MServerBase } from '../../../generated/lwm2m-server.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestDevice } from '../../support/objects.js';

const text = new TextDecoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };

let server: TestLwm2mServer;
let connected: ConnectedClient | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
});

afterEach(async () => {
  await connected?.close();
  connected = undefined;
  await server.close();
});

async function start(options: Parameters<typeof connectClient>[1], addServer?: LwM2MServerBase): Promise<ConnectedClient> {
  connected = await connectClient(`coap://127.0.0.1:${server.address().port}`, { coap: fast, retry: { initialDelayMs: 20 }, ...options });
  if (addServer) connected.client.addInstance(addServer);
  connected.client.addInstance(new TestDevice());
  const registered = connected.client.next('registered');
  await connected.client.start();
  await registered;
  return connected;
}

const read = async (ep: string, path: string): Promise<string> => text.decode((await server.read(ep, path, ContentFormat.TEXT)).payload);

describe('the Server object the runtime makes', () => {
  it('comes from connectClient\'s options, and the Register says the same', async () => {
    const { client } = await start({ endpointName: 'so-1', lifetime: 120, defaultPmin: 2, defaultPmax: 60, shortServerId: 9 });
    const reg = server.findRegistration('so-1')!;
    expect(reg.query).toEqual(expect.arrayContaining(['lt=120', 'b=U']));
    expect(reg.links).toContain('</1/0>');
    expect(client.serverInstance).toBeInstanceOf(ServerInstance);
    expect(await read('so-1', '/1/0/0')).toBe('9');
    expect(await read('so-1', '/1/0/1')).toBe('120');
    expect(await read('so-1', '/1/0/2')).toBe('2');
    expect(await read('so-1', '/1/0/3')).toBe('60');
    expect(await read('so-1', '/1/0/6')).toBe('0');
    expect(await read('so-1', '/1/0/7')).toBe('U');
    expect(client.serverDefaults()).toEqual({ pmin: 2, pmax: 60 });
    // Disable and Registration Update Trigger are served by the runtime, so Discover lists them.
    const links = text.decode((await server.discover('so-1', '/1/0')).payload);
    expect(links).toContain('</1/0/4>');
    expect(links).toContain('</1/0/8>');
  });

  it('refuses values the spec forbids with 4.00 and changes nothing (Lifetime, periods, Disable Timeout, Binding)', async () => {
    await start({ endpointName: 'so-2', lifetime: 300 });
    for (const [path, value] of [
      ['/1/0/1', '-5'], ['/1/0/1', '0'], ['/1/0/2', '-1'], ['/1/0/3', '0'], ['/1/0/5', '-1'],
      ['/1/0/7', 'X'], ['/1/0/7', 'UU'], ['/1/0/7', ''], ['/1/0/7', 'UTSNQX'],
    ] as const) {
      expect([path, value, (await server.write('so-2', path, value, ContentFormat.TEXT)).code]).toEqual([path, value, '4.00']);
    }
    expect(await read('so-2', '/1/0/1')).toBe('300');
    expect(await read('so-2', '/1/0/7')).toBe('U');
    expect((await server.read('so-2', '/1/0/2')).code).toBe('4.04');
    expect(server.log.filter((e) => e.kind === 'update')).toHaveLength(0);
    // The server cannot delete its own Server instance.
    expect((await server.delete('so-2', '/1/0')).code).toBe('4.05');
    expect(await read('so-2', '/1/0/1')).toBe('300');
  });

  it('a Lifetime or Binding written by the server is what the next Update carries', async () => {
    const { client } = await start({ endpointName: 'so-3', lifetime: 300 });
    const updated = client.next('updated');
    expect((await server.write('so-3', '/1/0/1', '600', ContentFormat.TEXT)).code).toBe('2.04');
    expect(await updated).toMatchObject({ lifetime: 600 });
    expect(server.log.filter((e) => e.kind === 'update').at(-1)?.query).toEqual(['lt=600']);
    expect(client.lifetime()).toBe(600);
    expect(await read('so-3', '/1/0/1')).toBe('600');
    const rebound = client.next('updated');
    expect((await server.write('so-3', '/1/0/7', 'UQ', ContentFormat.TEXT)).code).toBe('2.04');
    expect(await rebound).toMatchObject({ binding: 'UQ' });
    expect(server.findRegistration('so-3')!.binding).toBe('UQ');
  });

  it('uses an instance the app supplies instead, with the same checks and executes', async () => {
    class MyServer extends LwM2MServerBase {}
    const mine = new MyServer(0, { shortServerId: 4, lifetime: 90, binding: 'U', notificationStoringWhenDisabledOrOffline: true });
    const { client } = await start({ endpointName: 'so-4', lifetime: 300 }, mine);
    expect(client.serverInstance).toBe(mine);
    expect(server.findRegistration('so-4')!.query).toContain('lt=90');
    expect((await server.write('so-4', '/1/0/7', 'Z', ContentFormat.TEXT)).code).toBe('4.00');
    const updated = client.next('updated');
    expect((await server.execute('so-4', '/1/0/8')).code).toBe('2.04');
    expect(await updated).toMatchObject({ links: false });
  });
});

describe('Server object facts', () => {
  it("the runtime's model is the registry's (copied from generated/ by scripts/runtime-models.mjs)", () => {
    expect(JSON.parse(JSON.stringify(SERVER_MODEL))).toEqual(JSON.parse(JSON.stringify(LwM2MServer)));
  });

  it('names the executes the runtime handles', () => {
    expect(CLIENT_HANDLED_EXECUTES).toEqual({ 1: [4, 8] });
  });

  it('checks Binding letters', () => {
    expect(checkBinding('UQ')).toBe('UQ');
    expect(checkBinding('T')).toBe('T');
    expect(() => checkBinding('u')).toThrow(ValueError);
    expect(() => checkBinding('UU')).toThrow(/twice/);
    expect(() => new ServerInstance(0, { binding: 'Y' })).toThrow(ValueError);
    expect(() => new ServerInstance(0, { lifetime: -5 })).toThrow(ValueError);
  });
});
