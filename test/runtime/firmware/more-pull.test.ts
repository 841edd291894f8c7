// Pull over coap+tcp:// and https://, FileStorage, and a restart in the middle of a pull that resumes where storage stopped.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamCoapEndpoint } from '../../../runtime/coap/index.js';
import { FileStorage, FirmwareResult as Res, FirmwareState as St, MemoryStorage } from '../../../runtime/firmware/index.js';
import { MemoryPersistence, firmwareRig, makePackage, sha256 } from './fixtures.js';

const write = (fw: { writeResources(v: Map<number, string>, m: 'replace'): Promise<void> }, uri: string) =>
  fw.writeResources(new Map([[1, uri]]), 'replace');
const certs = join(dirname(fileURLToPath(import.meta.url)), '../../support/certs');

test('pull over coap+tcp:// from an RFC 8323 server', async () => {
  const pkg = makePackage(30_000);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const ep = new StreamCoapEndpoint(s, {});
    ep.serve((req) => (req.path.join('/') === 'fw' ? { code: '2.05', contentFormat: 42, payload: pkg } : { code: '4.04' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const r = firmwareRig({ digest: sha256(pkg), protocols: ['coap+tcp'] });
  try {
    await write(r.fw, `coap+tcp://127.0.0.1:${port}/fw`);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
    expect(r.storage.bytes()).toEqual(pkg);
    expect([...(r.fw.readResource(8) as Map<number, number>).values()]).toEqual([4]);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((res) => server.close(() => res()));
  }
});

test('pull over https:// with the app\'s CA', async () => {
  const pkg = makePackage(40_000);
  const server = https.createServer({ key: readFileSync(join(certs, 'server.key')), cert: readFileSync(join(certs, 'server.crt')) },
    (_req, res) => res.writeHead(200, { 'Content-Length': pkg.length }).end(pkg));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const r = firmwareRig({ digest: sha256(pkg), download: { retries: 0, httpsCa: readFileSync(join(certs, 'ca.crt')) } });
  const untrusted = firmwareRig({ download: { retries: 0 } });
  try {
    await write(r.fw, `https://127.0.0.1:${port}/fw.bin`);
    await r.fw.updater.settled();
    expect(r.fw.updater.state).toBe(St.Downloaded);
    expect(r.storage.bytes()).toEqual(pkg);
    // Without the CA the certificate is not trusted: the link fails, Result 4.
    await write(untrusted.fw, `https://127.0.0.1:${port}/fw.bin`);
    await untrusted.fw.updater.settled();
    expect([untrusted.fw.updater.state, untrusted.fw.updater.result]).toEqual([St.Idle, Res.ConnectionLost]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((res) => server.close(() => res()));
  }
});

test('FileStorage writes, resumes from its length, overwrites from a lower offset, discards', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-store-'));
  try {
    const path = join(dir, 'slot.bin');
    const a = new FileStorage(path);
    await a.begin();
    await a.write(0, Uint8Array.of(1, 2, 3, 4));
    await a.finish();
    const b = new FileStorage(path); // a restart: a new object on the same file
    expect(await b.size()).toBe(4);
    await b.write(2, Uint8Array.of(9, 9, 9));
    await b.finish();
    expect([...await readFile(path)]).toEqual([1, 2, 9, 9, 9]);
    await expect(b.write(7, Uint8Array.of(1))).rejects.toThrow(RangeError);
    await b.discard();
    expect(await b.size()).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a restart in the middle of a pull resumes from what storage holds (Range from its size)', async () => {
  const pkg = makePackage(60_000);
  const ranges: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (m) res.writeHead(206, { 'Content-Range': `bytes ${start}-${pkg.length - 1}/${pkg.length}`, 'Content-Length': pkg.length - start });
    else res.writeHead(200, { 'Content-Length': pkg.length });
    res.end(pkg.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const uri = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/fw.bin`;
  try {
    // What the first boot left: State Downloading for this URI, 25 000 bytes in storage.
    const persist = new MemoryPersistence();
    persist.saved = { state: St.Downloading, result: Res.Initial, packageUri: uri, pkgName: '', pkgVersion: '', lastStateChange: 0 };
    const storage = new MemoryStorage();
    storage.begin(undefined);
    storage.write(0, pkg.subarray(0, 25_000));
    const r = firmwareRig({ persist, storage, digest: sha256(pkg) });
    await r.fw.updater.ready;
    await r.fw.updater.settled();
    expect(ranges).toEqual(['bytes=25000-']);
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
    expect(storage.bytes()).toEqual(pkg);
    expect(r.fw.readResource(1)).toBe(uri);
    expect(persist.saved).toMatchObject({ state: St.Downloaded });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((res) => server.close(() => res()));
  }
});
