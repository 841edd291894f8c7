// Pull delivery over real sockets on 127.0.0.1: HTTP with Range resume, CoAP Block2 with block-number resume, failures.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createCoapEndpoint, createUdpTransport, decodeBlock, decodeMessage, OptionNumber,
  type CoapEndpoint, type DatagramTransport,
} from '../../../runtime/coap/index.js';
import { FirmwareResult as Res, FirmwareState as St, type FirmwareProgress } from '../../../runtime/firmware/index.js';
import { firmwareRig, makePackage, sha256 } from './fixtures.js';

const write = (fw: { writeResources(v: Map<number, string>, m: 'replace'): Promise<void> }, uri: string) =>
  fw.writeResources(new Map([[1, uri]]), 'replace');

interface HttpRig {
  url: string;
  requests: Array<string | undefined>;
  /** Per request number (0-based): cut the connection after this many body bytes. */
  cutAfter: Map<number, number>;
  /** From this request on, refuse connections outright. */
  refuseFrom: number;
  ignoreRange: boolean;
  close(): Promise<void>;
}

async function httpServer(body: Uint8Array, status = 200): Promise<HttpRig> {
  const rig = { requests: [] as Array<string | undefined>, cutAfter: new Map<number, number>(), refuseFrom: Infinity, ignoreRange: false } as HttpRig;
  const server = http.createServer((req, res) => {
    const n = rig.requests.length;
    rig.requests.push(req.headers.range);
    if (n >= rig.refuseFrom) { req.socket.destroy(); return; }
    if (status !== 200) { res.writeHead(status).end(); return; }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !rig.ignoreRange) {
      start = Number(m[1]);
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Content-Length': body.length - start });
    } else {
      res.writeHead(200, { 'Content-Length': body.length });
    }
    const cut = rig.cutAfter.get(n);
    if (cut !== undefined) {
      res.write(body.subarray(start, start + cut), () => setImmediate(() => req.socket.destroy()));
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rig.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`;
  rig.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return rig;
}

describe('pull over HTTP', () => {
  test('downloads, reports progress, verifies: Downloading → Downloaded', async () => {
    const pkg = makePackage(200_000);
    const srv = await httpServer(pkg);
    const r = firmwareRig({ digest: sha256(pkg), maxPackageSize: 1 << 20 });
    const progress: FirmwareProgress[] = [];
    r.fw.updater.on('progress', (p) => progress.push(p));
    try {
      await write(r.fw, srv.url);
      expect(r.fw.readResource(3)).toBe(St.Downloading);
      await r.fw.updater.settled();
      expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
      expect(r.storage.bytes()).toEqual(pkg);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toEqual({ bytes: pkg.length, total: pkg.length });
      expect(r.fw.readResource(1)).toBe(srv.url);
    } finally {
      await srv.close();
    }
  });

  test('an interrupted download resumes with a Range request', async () => {
    const pkg = makePackage(100_000);
    const srv = await httpServer(pkg);
    srv.cutAfter.set(0, 30_000);
    srv.cutAfter.set(1, 20_000);
    const r = firmwareRig({ digest: sha256(pkg), maxPackageSize: 1 << 20 });
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect(r.fw.updater.state).toBe(St.Downloaded);
      expect(r.storage.bytes()).toEqual(pkg);
      expect(srv.requests[0]).toBeUndefined();
      expect(srv.requests[1]).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(srv.requests[1]!)![0])).toBeGreaterThan(0);
      expect(srv.requests).toHaveLength(3);
    } finally {
      await srv.close();
    }
  });

  test('a server that ignores Range restarts the package from byte 0', async () => {
    const pkg = makePackage(50_000);
    const srv = await httpServer(pkg);
    srv.cutAfter.set(0, 10_000);
    srv.ignoreRange = true;
    const r = firmwareRig({ digest: sha256(pkg), maxPackageSize: 1 << 20 });
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect(r.fw.updater.state).toBe(St.Downloaded);
      expect(r.storage.bytes()).toEqual(pkg);
    } finally {
      await srv.close();
    }
  });

  test('a link that stays down after the retries is Update Result 4', async () => {
    const pkg = makePackage(50_000);
    const srv = await httpServer(pkg);
    srv.cutAfter.set(0, 10_000);
    srv.refuseFrom = 1;
    const r = firmwareRig({ maxPackageSize: 1 << 20 });
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.ConnectionLost]);
      expect(srv.requests).toHaveLength(3); // the first, then retries: 2
      expect(r.storage.size()).toBe(0);
    } finally {
      await srv.close();
    }
  });

  test('404 is Update Result 7; too large by Content-Length is 2; a corrupt package is 5', async () => {
    const missing = await httpServer(new Uint8Array(0), 404);
    const pkg = makePackage(5000);
    const ok = await httpServer(pkg);
    try {
      const a = firmwareRig();
      await write(a.fw, missing.url);
      await a.fw.updater.settled();
      expect([a.fw.updater.state, a.fw.updater.result]).toEqual([St.Idle, Res.InvalidUri]);
      const b = firmwareRig({ maxPackageSize: 4000 });
      await write(b.fw, ok.url);
      await b.fw.updater.settled();
      expect([b.fw.updater.state, b.fw.updater.result]).toEqual([St.Idle, Res.NotEnoughStorage]);
      expect(b.storage.calls.write).toBe(0);
      const c = firmwareRig({ digest: 'not the digest' });
      await write(c.fw, ok.url);
      await c.fw.updater.settled();
      expect([c.fw.updater.state, c.fw.updater.result]).toEqual([St.Idle, Res.IntegrityCheckFailure]);
      expect(c.applied).toBe(0);
    } finally {
      await missing.close();
      await ok.close();
    }
  });

  test('an empty Package URI write aborts a download in progress', async () => {
    const pkg = makePackage(50_000);
    let release: () => void = () => undefined;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': pkg.length });
      res.write(pkg.subarray(0, 1000));
      release = () => res.end(pkg.subarray(1000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`;
    const r = firmwareRig();
    try {
      const progressed = new Promise<void>((res) => { const off = r.fw.updater.on('progress', () => { off(); res(); }); });
      await write(r.fw, url);
      await progressed;
      await write(r.fw, '');
      release();
      await r.fw.updater.settled();
      expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.Initial]);
      expect(r.storage.size()).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    }
  });
});

interface CoapRig {
  url: string;
  endpoint: CoapEndpoint;
  /** Block2 numbers the server saw, in order. */
  blocks: number[];
  /** While set, datagrams from the server are dropped when this returns true for the block number asked. */
  drop: ((num: number) => boolean) | undefined;
  close(): Promise<void>;
}

/** Our own CoAP endpoint serving the package at /fw; its layer answers Block2 from the body the handler returns. */
async function coapServer(body: Uint8Array, code: '2.05' | '4.04' = '2.05'): Promise<CoapRig> {
  const udp = await createUdpTransport({ address: '127.0.0.1', port: 0 });
  const rig = { blocks: [] as number[], drop: undefined } as unknown as CoapRig;
  let lastAsked = 0;
  const tap: DatagramTransport = {
    send: (data, peer) => {
      if (rig.drop?.(lastAsked)) return;
      return udp.send(data, peer);
    },
    onMessage: (l) => udp.onMessage((data, peer) => {
      const m = decodeMessage(data);
      const b2 = m?.options.find((o) => o.number === OptionNumber.Block2);
      if (m && b2 && m.code !== '0.00') {
        lastAsked = decodeBlock(b2.value)?.num ?? -1;
        rig.blocks.push(lastAsked);
      }
      l(data, peer);
    }),
    address: () => udp.address(),
    close: () => udp.close(),
  };
  rig.endpoint = createCoapEndpoint(tap, { blockSize: 1024 });
  rig.endpoint.serve((req) => (req.path.join('/') === 'fw' && code === '2.05'
    ? { code: '2.05', contentFormat: 42, payload: body }
    : { code: '4.04' }));
  rig.url = `coap://127.0.0.1:${udp.address().port}/fw`;
  rig.close = () => rig.endpoint.close();
  return rig;
}

describe('pull over CoAP (Block2)', () => {
  test('downloads block by block at the asked size and verifies', async () => {
    const pkg = makePackage(5000);
    const srv = await coapServer(pkg);
    const r = firmwareRig({ digest: sha256(pkg), download: { retries: 2, retryDelayMs: 0, coapBlockSize: 512, coap: { ackTimeout: 40, maxRetransmit: 1, ackRandomFactor: 1 } } });
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
      expect(r.storage.bytes()).toEqual(pkg);
      expect(srv.blocks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await srv.close();
    }
  });

  test('a dropped link resumes at the block it stopped at, not block 0', async () => {
    const pkg = makePackage(8000);
    const srv = await coapServer(pkg);
    let dropped = 0;
    srv.drop = (num) => num === 4 && dropped++ < 2; // block 4's request and its retransmission go unanswered once
    const r = firmwareRig({ digest: sha256(pkg) });
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect(r.fw.updater.state).toBe(St.Downloaded);
      expect(r.storage.bytes()).toEqual(pkg);
      expect(srv.blocks.filter((n) => n === 0)).toHaveLength(1);
      expect(srv.blocks.filter((n) => n === 4).length).toBeGreaterThanOrEqual(2);
    } finally {
      await srv.close();
    }
  });

  test('a server that stops answering is Update Result 4 after the retries; 4.04 is 7', async () => {
    const pkg = makePackage(4000);
    const srv = await coapServer(pkg);
    srv.drop = (num) => num >= 2;
    const missing = await coapServer(pkg, '4.04');
    const r = firmwareRig();
    try {
      await write(r.fw, srv.url);
      await r.fw.updater.settled();
      expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.ConnectionLost]);
      const m = firmwareRig();
      await write(m.fw, missing.url.replace('/fw', '/nothing'));
      await m.fw.updater.settled();
      expect([m.fw.updater.state, m.fw.updater.result]).toEqual([St.Idle, Res.InvalidUri]);
    } finally {
      await srv.close();
      await missing.close();
    }
  });
});
