// coap-shepherd (an independent LwM2M 1.0 server from npm) started for a test: temporary database, 127.0.0.1, ephemeral port.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// coap-shepherd is CommonJS and a singleton configured through its config module, so it is loaded by hand:
// first the config (a temporary database, never the one inside node_modules), then the shepherd itself.
const require = createRequire(import.meta.url);
const shepherdRequire = createRequire(require.resolve('coap-shepherd'));

export interface RspObj {
  status: string;
  data?: unknown;
}
export interface CoapNode {
  readReq(path: string): Promise<RspObj>;
  writeReq(path: string, value: unknown): Promise<RspObj>;
  executeReq(path: string, args?: unknown[]): Promise<RspObj>;
  discoverReq(path: string): Promise<RspObj>;
  writeAttrsReq(path: string, attrs: Record<string, number>): Promise<RspObj>;
  observeReq(path: string): Promise<RspObj>;
  cancelObserveReq(path: string): Promise<RspObj>;
}
export interface Shepherd {
  start(): Promise<void>;
  stop(): Promise<void>;
  permitJoin(seconds: number): boolean;
  find(name: string): CoapNode | undefined;
  on(event: 'ind', listener: (msg: { type: string; cnode?: { clientName: string }; data?: unknown }) => void): void;
  removeListener(event: 'ind', listener: (msg: { type: string; cnode?: { clientName: string }; data?: unknown }) => void): void;
  removeAllListeners(event?: string): void;
  _net: { ip: string; port: number };
  /** Its clients by name; each holds a timer until its lifetime runs out. */
  _registry: Record<string, { lifeCheck(enable: boolean): unknown }>;
}
interface CoapServer {
  listen(port: number, addressOrDone?: unknown, done?: (err?: Error) => void): unknown;
  _sock: { address(): { port: number } };
}

export interface RunningShepherd {
  readonly shepherd: Shepherd;
  readonly port: number;
  /** Resolves when the shepherd has registered the client and read its objects (its devIncoming event). */
  incoming(clientName: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ShepherdOptions {
  /**
   * coap-shepherd 0.2 reads `</3>;ver=1.2` as an object named "3>;ver=1." and its database then refuses the dot
   * ("Field names cannot contain a ."). Clients of objects newer than 1.0 rightly send ver=; this keeps the shepherd
   * to the part of each link it understands.
   */
  readonly stripLinkAttributes?: boolean;
}

export async function startShepherd(options: ShepherdOptions = {}): Promise<RunningShepherd> {
  const dbDir = mkdtempSync(join(tmpdir(), 'shepherd-'));
  const config = shepherdRequire('./lib/config.js') as Record<string, unknown>;
  config.defaultDbFolder = dbDir;
  config.defaultDbPath = join(dbDir, 'coap.db');
  config.ip = '127.0.0.1';
  const coap = shepherdRequire('coap') as { createServer: (opts: unknown) => CoapServer } & Record<string, unknown>;
  // node-coap opens two unbound sockets for its default agents at require time; the shepherd replaces them.
  const requireTimeAgents = [coap.globalAgent, coap.globalAgentIPv6] as Array<{ _doClose(): void }>;
  const createServer = coap.createServer;
  const shepherd = shepherdRequire('coap-shepherd') as Shepherd;
  if (options.stripLinkAttributes) {
    const cutils = shepherdRequire('./lib/components/cutils.js') as { getObjListOfSo: (list: string) => unknown };
    const getObjListOfSo = cutils.getObjListOfSo;
    cutils.getObjListOfSo = (list: string) => getObjListOfSo(
      String(list).split(',').map((link) => (link.startsWith('</>') ? link : link.replace(/;.*$/, ''))).join(','),
    );
  }
  // Bind the shepherd's socket to 127.0.0.1 on an ephemeral port (it would take 0.0.0.0:5683), then tell it the port.
  coap.createServer = (opts: unknown) => {
    const server = createServer(opts);
    const listen = server.listen.bind(server);
    server.listen = (_port: number, done?: unknown) => listen(0, '127.0.0.1', (err?: Error) => {
      shepherd._net.port = server._sock.address().port;
      (done as (err?: Error) => void)(err);
    });
    return server;
  };
  try {
    await shepherd.start();
  } finally {
    coap.createServer = createServer;
  }
  shepherd.permitJoin(300);
  return {
    shepherd,
    port: shepherd._net.port,
    incoming: (clientName) => new Promise<void>((resolve) => {
      shepherd.on('ind', (msg) => {
        if (msg.type === 'devIncoming' && msg.cnode?.clientName === clientName) resolve();
      });
    }),
    async stop() {
      shepherd.permitJoin(0);
      // A client still registered (a device killed, or one that keeps its registration) would hold the process open.
      for (const cnode of Object.values(shepherd._registry)) cnode.lifeCheck(false);
      await shepherd.stop();
      for (const agent of requireTimeAgents) agent._doClose();
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
}
