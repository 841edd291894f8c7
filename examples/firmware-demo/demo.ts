// Firmware update end to end: our test LwM2M server updates a device by HTTP pull, CoAP pull and Block1 push, printing each step.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceBase } from '../../generated/device.js';
import { FirmwareUpdateBase } from '../../generated/firmware-update.js';
import {
  ContentFormat, Lwm2mClient, createUdpEndpoint, FileStorage, withFirmwareUpdate,
  type CoapEndpoint, type ExecuteArguments, type FirmwareStorage,
} from 'lwm2m-gen/runtime';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EP = 'firmware-demo';
const STATE = ['Idle', 'Downloading', 'Downloaded', 'Updating'];
const RESULT = ['Initial', 'Success', 'Not enough storage', 'Out of memory', 'Connection lost', 'Integrity check failure',
  'Unsupported package type', 'Invalid URI', 'Update failed', 'Unsupported protocol', 'Cancelled', 'Deferred'];
const t0 = Date.now();
const log = (who: string, msg: string): void => console.log(`${String(Date.now() - t0).padStart(5)} ms  ${who.padEnd(6)} ${msg}`);

// ---- the package format of this demo: a JSON header line, the image, and a SHA-256 of both as a trailer ----

function buildPackage(version: string, imageSize: number): Uint8Array {
  const header = utf8.encode(`${JSON.stringify({ name: 'demo-fw', version })}\n`);
  const image = new Uint8Array(imageSize).map((_, i) => (i * 31 + version.length) & 0xff);
  const body = Buffer.concat([header, image]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

async function packageHeader(path: string): Promise<{ name: string; version: string }> {
  const bytes = await readFile(path);
  const nl = bytes.indexOf(10);
  return JSON.parse(bytes.subarray(0, nl).toString('utf8')) as { name: string; version: string };
}

// ---- the device: generated classes, extended ----

class Device extends DeviceBase {
  reboot(_args: ExecuteArguments): void {
    log('device', 'reboot requested');
  }
}

/** The whole firmware integration of the app: the generated class with the runtime's updater; options at `new`. */
class Firmware extends withFirmwareUpdate(FirmwareUpdateBase) {}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lwm2m-fw-demo-'));
  const closers: Array<() => Promise<void> | void> = [async () => rm(dir, { recursive: true, force: true })];
  try {
    // ---- the server side: an LwM2M server, and the package served over HTTP and CoAP ----
    const server = await TestLwm2mServer.start({ coap: { ackTimeout: 500 } });
    closers.unshift(() => server.close());
    const packages = new Map<string, Uint8Array>([
      ['/fw-2.0.0.bin', buildPackage('2.0.0', 150_000)],
      ['/fw-3.0.0.bin', buildPackage('3.0.0', 60_000)],
    ]);
    const httpServer = http.createServer((req, res) => {
      const body = packages.get(req.url ?? '');
      if (!body) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    closers.unshift(() => new Promise<void>((r) => { httpServer.closeAllConnections(); httpServer.close(() => r()); }));
    const coapFiles: CoapEndpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
    coapFiles.serve((req) => {
      const body = packages.get(`/${req.path.join('/')}`);
      return body ? { code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: body } : { code: '4.04' };
    });
    closers.unshift(() => coapFiles.close());
    const httpBase = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    const coapBase = `coap://127.0.0.1:${coapFiles.address().port}`;
    log('server', `LwM2M server on coap://127.0.0.1:${server.address().port}; packages at ${httpBase} and ${coapBase}`);

    // ---- the device ----
    const device = new Device(0, { manufacturer: 'lwm2m-gen', modelNumber: 'demo', firmwareVersion: '1.0.0', errorCode: [0], supportedBindingAndModes: 'U' });
    const storage = new FileStorage(join(dir, 'slot-b.bin'));
    const fw = new Firmware(0, {
      storage,
      maxPackageSize: 1 << 20,
      verify: async (s: FirmwareStorage) => {
        const bytes = await readFile(storage.path);
        const ok = bytes.length > 32 && createHash('sha256').update(bytes.subarray(0, -32)).digest().equals(bytes.subarray(-32));
        log('device', `verify ${(await s.size())} bytes: ${ok ? 'digest ok' : 'DIGEST MISMATCH'}`);
        return ok;
      },
      describe: async () => packageHeader(storage.path),
      apply: async () => {
        const { version } = await packageHeader(storage.path);
        log('device', `apply: flashing ${version} ... reboot ... running ${version}`);
        device.firmwareVersion = version;
      },
    });
    let lastPct = -1;
    fw.updater.on('progress', ({ bytes, total }) => {
      const pct = total ? Math.floor((bytes / total) * 4) * 25 : -1;
      if (pct !== lastPct) { lastPct = pct; log('device', `progress ${bytes}${total ? `/${total} bytes (${pct}%)` : ' bytes'}`); }
    });
    fw.updater.on('state', ({ state, result }) => log('device', `State ${state} ${STATE[state]}, Update Result ${result} ${RESULT[result]}`));
    await fw.updater.ready;

    const endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ackTimeout: 500 });
    closers.unshift(() => endpoint.close());
    const client = new Lwm2mClient({ endpointName: EP, transport: endpoint, server: server.address(), lifetime: 300 });
    // The Server object (/1) is the runtime's, made from the options at start.
    client.addInstance(device).addInstance(fw);
    // Push: Block1 writes of /5/x/0 go block by block to storage instead of being reassembled in memory.
    client.streamWrites(5, 0, (_inst, start) => fw.updater.openBlock1(start));
    const registered = client.next('registered');
    await client.start();
    await registered;
    closers.unshift(() => client.stop());
    log('server', `${EP} registered: ${server.findRegistration(EP)?.links}`);

    // ---- the server drives the update ----
    const readText = async (path: string): Promise<string> => text.decode((await server.read(EP, path, ContentFormat.TEXT)).payload);
    // The server asks for every change (the spec's default pmin is 0 already; NOTIFY_PRESET_2016 would hold /5 back 30 s).
    log('server', `Write-Attributes /5/0/3?pmin=0 → ${(await server.writeAttributes(EP, '/5/0/3', ['pmin=0'])).code}`);
    const states = await server.observe(EP, '/5/0/3');
    log('server', `observing /5/0/3: State ${STATE[Number(text.decode(states.response.payload))]}`);
    const waitState = async (want: number): Promise<void> => {
      for (;;) {
        const n = await states.next();
        const s = Number(text.decode(n.payload));
        log('server', `notification: State ${s} ${STATE[s]}`);
        if (s === want) return;
      }
    };
    const round = async (how: string, deliver: () => Promise<string>): Promise<void> => {
      log('server', `---- ${how} ----`);
      lastPct = -1;
      log('server', await deliver());
      await waitState(2);
      log('server', `PkgName ${await readText('/5/0/6')}, PkgVersion ${await readText('/5/0/7')}`);
      const exec = await server.execute(EP, '/5/0/2');
      log('server', `Execute /5/0/2 (Update) → ${exec.code}`);
      await waitState(0);
      log('server', `Update Result /5/0/5 = ${await readText('/5/0/5')}; device Firmware Version /3/0/3 = ${await readText('/3/0/3')}`);
    };

    const protocols = text.decode((await server.read(EP, '/5/0/8', ContentFormat.SENML_JSON)).payload);
    log('server', `device Firmware Version /3/0/3 = ${await readText('/3/0/3')}; Delivery Method /5/0/9 = ${await readText('/5/0/9')}; Protocol Support /5/0/8 = ${protocols}`);
    await round('pull over HTTP', async () => {
      const uri = `${httpBase}/fw-2.0.0.bin`;
      return `Write /5/0/1 = ${uri} → ${(await server.write(EP, '/5/0/1', uri, ContentFormat.TEXT)).code}`;
    });
    await round('pull over CoAP (Block2)', async () => {
      const uri = `${coapBase}/fw-3.0.0.bin`;
      return `Write /5/0/1 = ${uri} → ${(await server.write(EP, '/5/0/1', uri, ContentFormat.TEXT)).code}`;
    });
    await round('push (Block1 Write of /5/0/0)', async () => {
      const pkg = buildPackage('4.0.0', 40_000);
      return `Write /5/0/0 (${pkg.length} bytes, block-wise) → ${(await server.write(EP, '/5/0/0', pkg, ContentFormat.OPAQUE)).code}`;
    });
    const final = await readText('/3/0/3');
    log('server', `done: the device reports Firmware Version ${final}`);
    if (final !== '4.0.0') throw new Error(`expected 4.0.0, got ${final}`);
  } finally {
    for (const close of closers) await close();
  }
}

const guard = setTimeout(() => {
  console.error('firmware demo: no end after 60 s');
  process.exit(1);
}, 60_000);
guard.unref();
main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
