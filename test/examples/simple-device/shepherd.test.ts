// The example device with coap-shepherd, an independent LwM2M 1.0 server: register, read, write, execute, discover, attributes, observe.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { startSimpleDevice, type SimpleDevice } from '../../../examples/simple-device/index.js';

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
  observeReq(path: string): Promise<RspObj>;
  cancelObserveReq(path: string): Promise<RspObj>;
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
let dev: SimpleDevice | undefined;
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
  // coap-shepherd 0.2 reads `</3>;ver=1.2` as an object named "3>;ver=1." and its database then refuses the dot
  // ("Field names cannot contain a ."). The generated Device and Firmware Update are version 1.2, so the client
  // rightly sends ver=; keep the shepherd to the part of the link it understands.
  const cutils = shepherdRequire('./lib/components/cutils.js') as { getObjListOfSo: (list: string) => unknown };
  const getObjListOfSo = cutils.getObjListOfSo;
  cutils.getObjListOfSo = (list: string) => getObjListOfSo(
    String(list).split(',').map((link) => (link.startsWith('</>') ? link : link.replace(/;.*$/, ''))).join(','),
  );
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
  await dev?.stop();
  dev = undefined;
  shepherd.removeAllListeners('ind');
});

it('registers with coap-shepherd and serves its requests', async () => {
  const incoming = new Promise<void>((resolve) => {
    shepherd.on('ind', (msg) => {
      if (msg.type === 'devIncoming' && msg.cnode?.clientName === 'shep-sim') resolve();
    });
  });
  const lines: string[] = [];
  dev = await startSimpleDevice({
    server: `coap://127.0.0.1:${shepherd._net.port}`, endpoint: 'shep-sim', lifetime: 600,
    lwm2mVersion: '1.0', preferredFormat: ContentFormat.TLV, log: (l) => lines.push(l),
  });
  expect(dev.client.state).toBe('registered');
  expect(lines.some((l) => l.includes('registered'))).toBe(true);
  await incoming;
  const cnode = shepherd.find('shep-sim')!;
  expect(cnode).toBeDefined();

  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'lwm2m-gen' });
  const inst = await cnode.readReq('/3/0');
  expect(inst.status).toBe('2.05');
  expect(inst.data).toMatchObject({ manuf: 'lwm2m-gen', model: 'simple-device', serial: 'SIM-shep-sim', firmware: '1.0.0' });

  expect((await cnode.writeReq('/3/0/14', 'UTC+04:00')).status).toBe('2.04');
  expect(dev.device.utcOffset).toBe('UTC+04:00');
  expect((await cnode.writeReq('/3/0/14', 'four')).status).toBe('4.00');
  expect((await cnode.writeReq('/3/0/9', 50)).status).toBe('4.05');
  expect((await cnode.writeReq('/1/0/1', 900)).status).toBe('2.04');
  expect(dev.client.lifetime()).toBe(900);

  expect((await cnode.executeReq('/3/0/12', [])).status).toBe('2.04');
  expect((await cnode.executeReq('/3/0/0', [])).status).toBe('4.05');

  expect((await cnode.writeAttrsReq('/3/0/9', { pmin: 10, pmax: 60 })).status).toBe('2.04');
  const disc = await cnode.discoverReq('/3/0/9');
  expect(disc.status).toBe('2.05');
  expect(JSON.stringify(disc.data)).toMatch(/pmin.*10.*pmax.*60/);

  const obs = await cnode.observeReq('/3/0/13');
  expect(obs.status).toBe('2.05');
  expect((await cnode.cancelObserveReq('/3/0/13')).status).toBe('2.05');

  const d = dev;
  dev = undefined;
  const deregistered = d.client.next('deregistered');
  await d.stop();
  await deregistered;
});
