// Interop with coap-shepherd, an independent LwM2M 1.0 server: register, read, write, execute, discover and attributes over TLV.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { DeviceDef10, TestDevice, TestServer } from '../../support/objects.js';

// coap-shepherd is CommonJS and a singleton configured through its config module, so it is loaded by hand:
// first the config (a temporary database, never the one inside node_modules), then the shepherd itself.
const require = createRequire(import.meta.url);
const shepherdMain = require.resolve('coap-shepherd');
const shepherdRequire = createRequire(shepherdMain);

interface RspObj {
  status: string;
  data?: unknown;
}
interface CoapNode {
  readReq(path: string): Promise<RspObj>;
  writeReq(path: string, value: unknown): Promise<RspObj>;
  executeReq(path: string, args?: unknown[]): Promise<RspObj>;
  discoverReq(path: string): Promise<RspObj>;
  writeAttrsReq(path: string, attrs: Record<string, number>): Promise<RspObj>;
}
interface Shepherd {
  start(): Promise<void>;
  stop(): Promise<void>;
  permitJoin(seconds: number): boolean;
  find(name: string): CoapNode | undefined;
  on(event: 'ind', listener: (msg: { type: string; cnode?: { clientName: string } }) => void): void;
  removeAllListeners(event?: string): void;
  _net: { ip: string; port: number };
}
interface CoapServer {
  listen(port: number, addressOrDone?: unknown, done?: (err?: Error) => void): unknown;
  _sock: { address(): { port: number } };
}

let dbDir: string;
let shepherd: Shepherd;
let endpoint: CoapEndpoint | undefined;
let client: Lwm2mClient | undefined;
let requireTimeAgents: Array<{ _doClose(): void }> = [];

beforeAll(async () => {
  dbDir = mkdtempSync(join(tmpdir(), 'shepherd-'));
  const config = shepherdRequire('./lib/config.js') as Record<string, unknown>;
  config.defaultDbFolder = dbDir;
  config.defaultDbPath = join(dbDir, 'coap.db');
  config.ip = '127.0.0.1';
  // Bind the shepherd's socket to 127.0.0.1 on an ephemeral port (it would take 0.0.0.0:5683), then tell it the port.
  const coap = shepherdRequire('coap') as { createServer: (opts: unknown) => CoapServer } & Record<string, unknown>;
  // node-coap opens two unbound sockets for its default agents at require time; the shepherd replaces them.
  requireTimeAgents = [coap.globalAgent, coap.globalAgentIPv6] as Array<{ _doClose(): void }>;
  const createServer = coap.createServer;
  shepherd = shepherdRequire('coap-shepherd') as Shepherd;
  coap.createServer = (opts: unknown) => {
    const server = createServer(opts);
    const listen = server.listen.bind(server);
    server.listen = (_port: number, done?: unknown) => listen(0, '127.0.0.1', (err?: Error) => {
      shepherd._net.port = server._sock.address().port;
      (done as (err?: Error) => void)(err);
    });
    return server;
  };
  await shepherd.start();
  coap.createServer = createServer;
  shepherd.permitJoin(300);
});

afterAll(async () => {
  shepherd.permitJoin(0);
  await shepherd.stop();
  for (const agent of requireTimeAgents) agent._doClose();
  rmSync(dbDir, { recursive: true, force: true });
});

afterEach(async () => {
  await client?.stop();
  await endpoint?.close();
  shepherd.removeAllListeners('ind');
});

it('registers with coap-shepherd and serves its read, write, execute, discover and write-attributes', async () => {
  endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
  client = new Lwm2mClient({
    endpointName: 'shep-dev', transport: endpoint, server: { address: '127.0.0.1', port: shepherd._net.port },
    lwm2mVersion: '1.0', preferredFormat: ContentFormat.TLV,
  });
  const device = new TestDevice(DeviceDef10);
  client.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 600 })).addInstance(device);
  // devIncoming fires once the shepherd has read every registered object over TLV
  const incoming = new Promise<void>((resolve) => {
    shepherd.on('ind', (msg) => {
      if (msg.type === 'devIncoming' && msg.cnode?.clientName === 'shep-dev') resolve();
    });
  });
  await client.start();
  expect(client.state).toBe('registered');
  await incoming;
  const cnode = shepherd.find('shep-dev')!;
  expect(cnode).toBeDefined();

  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'ACME' });
  expect(await cnode.readReq('/3/0/9')).toEqual({ status: '2.05', data: 87 });
  const inst = await cnode.readReq('/3/0');
  expect(inst.status).toBe('2.05');
  // coap-shepherd names resources after its own IPSO table; it shows multiple Integer resources as '' (its TLV decoder),
  // so only the single values are compared here (our TLV for /3/0/6 is 86 06 41 00 01 41 01 05, per the spec).
  expect(inst.data).toMatchObject({ manuf: 'ACME', model: 'X-1', battLevel: 87, UTCOffset: '+01:00', currTime: 1700000000 });
  expect(Object.keys((inst.data as { availPwrSrc: object }).availPwrSrc)).toEqual(['0', '1']);

  expect((await cnode.writeReq('/3/0/14', '+04:00')).status).toBe('2.04');
  expect(device.utcOffset).toBe('+04:00');
  expect((await cnode.writeReq('/3/0/9', 50)).status).toBe('4.05');
  expect((await cnode.writeReq('/1/0/1', 900)).status).toBe('2.04');
  expect(client.lifetime()).toBe(900);

  expect((await cnode.executeReq('/3/0/4', [])).status).toBe('2.04');
  expect(device.reboots).toHaveLength(1);
  expect((await cnode.executeReq('/3/0/0', [])).status).toBe('4.05');

  expect((await cnode.writeAttrsReq('/3/0/9', { pmin: 10, pmax: 60 })).status).toBe('2.04');
  const disc = await cnode.discoverReq('/3/0/9');
  expect(disc.status).toBe('2.05');
  expect(JSON.stringify(disc.data)).toMatch(/pmin.*10.*pmax.*60/);
  const discObj = await cnode.discoverReq('/3');
  expect(discObj.status).toBe('2.05');

  const deregistered = client.next('deregistered');
  await client.stop();
  await deregistered;
  client = undefined;
});
