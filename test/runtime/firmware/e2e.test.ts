// End to end over UDP on 127.0.0.1: the test LwM2M server pushes a package block-wise, or has the device pull it (HTTP, CoAP), then Updates.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUdpEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import type { Lwm2mClient } from '../../../runtime/client/index.js';
import { FirmwareResult as Res, FirmwareState as St } from '../../../runtime/firmware/index.js';
import type { TestLwm2mServer, Observation } from 'lwm2m-gen/testing';
import { TestDevice, TestServer } from '../../support/objects.js';
import { startRegisteredClient, type UdpRig } from '../../support/registered-client.js';
import { firmwareRig, makePackage, sha256, type FirmwareRig } from './fixtures.js';

const text = new TextDecoder();
const EP = 'fw-dev';

let rig: UdpRig | undefined;
let server: TestLwm2mServer;
let client: Lwm2mClient;
let r: FirmwareRig;
let pkg: Uint8Array;

async function start(over: Parameters<typeof firmwareRig>[0] = {}, maxBodySize = 2048): Promise<void> {
  pkg = makePackage(20_000);
  r = firmwareRig({ digest: sha256(pkg), ...over });
  rig = await startRegisteredClient({
    endpointName: EP, serverCoap: { blockSize: 256 },
    // maxBodySize far below the package: only streaming lets the push through.
    clientCoap: { maxBodySize },
    objects: (c) => {
      c.addInstance(new TestServer(0, { shortServerId: 7, lifetime: 120 })).addInstance(new TestDevice()).addInstance(r.fw);
      c.streamWrites(5, 0, (_inst, s) => r.fw.updater.openBlock1(s));
    },
  });
  ({ server, client } = rig);
}

afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** Observes State with pmin=0: the default policy holds notifications of /5 back for 30 s. */
async function observeState(): Promise<Observation> {
  expect((await server.writeAttributes(EP, '/5/0/3', ['pmin=0'])).code).toBe('2.04');
  return server.observe(EP, '/5/0/3');
}

async function waitState(obs: Observation, want: number): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const s = Number(text.decode((await obs.next()).payload));
    seen.push(s);
    if (s === want) return seen;
  }
}

async function updateAndCheck(obs: Observation): Promise<void> {
  expect((await server.execute(EP, '/5/0/2')).code).toBe('2.04');
  await waitState(obs, St.Idle);
  expect(text.decode((await server.read(EP, '/5/0/5', ContentFormat.TEXT)).payload)).toBe(String(Res.Success));
  expect(r.applied).toBe(1);
}

describe('firmware update through the client', () => {
  test('push: a block-wise Write of /5/0/0 streams to storage; Update; Result 1', async () => {
    await start();
    const obs = await observeState();
    const links = server.findRegistration(EP)!.links;
    expect(links).toContain('</5/0>');
    const w = await server.write(EP, '/5/0/0', pkg, ContentFormat.OPAQUE);
    expect(w.code).toBe('2.04');
    expect(r.storage.bytes()).toEqual(pkg);
    expect(r.storage.calls.write).toBe(Math.ceil(pkg.length / 256));
    await waitState(obs, St.Downloaded);
    expect((await server.read(EP, '/5/0/0')).code).toBe('4.05');
    await updateAndCheck(obs);
  });

  test('push too large: 4.13 and Update Result 2', async () => {
    await start({ maxPackageSize: 5000 });
    const w = await server.write(EP, '/5/0/0', pkg, ContentFormat.OPAQUE);
    expect(w.code).toBe('4.13');
    expect(text.decode((await server.read(EP, '/5/0/5', ContentFormat.TEXT)).payload)).toBe(String(Res.NotEnoughStorage));
    expect(text.decode((await server.read(EP, '/5/0/3', ContentFormat.TEXT)).payload)).toBe(String(St.Idle));
  });

  test('a corrupt push is Update Result 5 and Update is refused with 4.05', async () => {
    await start();
    const bad = pkg.slice();
    bad[100] = (bad[100]! + 1) & 0xff;
    expect((await server.write(EP, '/5/0/0', bad, ContentFormat.OPAQUE)).code).toBe('2.04');
    expect(text.decode((await server.read(EP, '/5/0/5', ContentFormat.TEXT)).payload)).toBe(String(Res.IntegrityCheckFailure));
    expect((await server.execute(EP, '/5/0/2')).code).toBe('4.05');
    expect(r.applied).toBe(0);
  });

  test('pull: the server writes an http:// Package URI, observes State, executes Update', async () => {
    await start();
    const files = http.createServer((_req, res) => res.writeHead(200, { 'Content-Length': pkg.length }).end(pkg));
    await new Promise<void>((res) => files.listen(0, '127.0.0.1', res));
    try {
      const obs = await observeState();
      const uri = `http://127.0.0.1:${(files.address() as AddressInfo).port}/fw.bin`;
      expect((await server.write(EP, '/5/0/1', uri, ContentFormat.TEXT)).code).toBe('2.04');
      await waitState(obs, St.Downloaded);
      expect(text.decode((await server.read(EP, '/5/0/1', ContentFormat.TEXT)).payload)).toBe(uri);
      await updateAndCheck(obs);
    } finally {
      files.closeAllConnections();
      await new Promise<void>((res) => files.close(() => res()));
    }
  });

  test('pull: a coap:// Package URI served block-wise by a local CoAP server', async () => {
    await start();
    const files = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
    files.serve(() => ({ code: '2.05', contentFormat: 42, payload: pkg }));
    try {
      const obs = await observeState();
      const uri = `coap://127.0.0.1:${files.address().port}/fw`;
      expect((await server.write(EP, '/5/0/1', uri, ContentFormat.TEXT)).code).toBe('2.04');
      await waitState(obs, St.Downloaded);
      expect(r.storage.bytes()).toEqual(pkg);
      await updateAndCheck(obs);
    } finally {
      await files.close();
    }
  });
});
