// Issue 14's done-when against independent CoAP stacks: the example device provisioned by a bootstrap server on node-coap (TLV from lwm2m-codec), registered with coap-shepherd, restarted from its --state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { NodeCoapBootstrapServer } from '../../support/node-coap-bootstrap.js';
import { startShepherd, type RunningShepherd } from '../../support/shepherd.js';
import { runDevice, type DeviceProcess } from '../support/device-process.js';

const text = new TextDecoder();
const IDENTITY = 'nc-identity-5d1e';
const KEY = Uint8Array.from(Buffer.from('a3f09c5be1d2477a8e66b4c0d9f13e25', 'hex'));
/** Every way a key or identity could be spelled in a log line. */
const SECRETS = [
  IDENTITY, Buffer.from(KEY).toString('hex'), Buffer.from(KEY).toString('hex').toUpperCase(), Buffer.from(KEY).toString('base64'),
  Buffer.from(KEY).toString('latin1'), Buffer.from(IDENTITY).toString('hex'), Buffer.from(IDENTITY).toString('base64'),
];

let running: RunningShepherd;
let secureDm: TestLwm2mServer;
let bs: NodeCoapBootstrapServer;
let dir: string;
let child: DeviceProcess | undefined;
const lines: string[] = [];

beforeAll(async () => {
  running = await startShepherd({ stripLinkAttributes: true });
  secureDm = await TestLwm2mServer.start({ psk: { [IDENTITY]: KEY } });
  bs = await NodeCoapBootstrapServer.start((ep) => (ep !== 'nc-boot' ? undefined : [
    // coap-shepherd (LwM2M 1.0, on node-coap 0.22) is the DM server that observes; the second account is coaps:// with
    // a PSK, so that a key really passes through bootstrap, store and handshake in this run.
    { instanceId: 1, uri: `coap://127.0.0.1:${running.port}`, shortServerId: 1, lifetime: 600 },
    { instanceId: 2, uri: `coaps://127.0.0.1:${secureDm.address().port}`, shortServerId: 2, lifetime: 600, pskIdentity: IDENTITY, pskKey: KEY },
  ]));
  dir = await mkdtemp(join(tmpdir(), 'nc-bootstrap-'));
});

afterAll(async () => {
  await child?.kill();
  await bs.close();
  await secureDm.close();
  await running.stop();
  await rm(dir, { recursive: true, force: true });
});

function start(): DeviceProcess {
  child = runDevice(['--bootstrap', bs.uri(), '--endpoint', 'nc-boot', '--state', dir]);
  return child;
}

async function stop(d: DeviceProcess): Promise<void> {
  d.proc.kill('SIGINT');
  expect(await d.exit).toBe(0);
  lines.push(...d.lines);
}

it('is provisioned by a node-coap bootstrap server, serves coap-shepherd, and after a restart updates without bootstrap while the observation keeps notifying; nothing secret is printed', async () => {
  const incoming = running.incoming('nc-boot');
  const first = start();
  await first.line(/^bootstrap: finished/);
  await incoming;
  expect(bs.requests).toEqual(['nc-boot']);
  expect(bs.failures).toEqual([]);
  expect(bs.log.map((e) => `${e.method} ${e.path} ${e.code}`)).toEqual([
    'DELETE / 2.02', 'GET / 2.05', 'PUT /0/1 2.04', 'PUT /1/1 2.04', 'PUT /0/2 2.04', 'PUT /1/2 2.04', 'GET /1 2.05', 'POST /bs 2.04',
  ]);
  const [result] = bs.results;
  // Bootstrap-Discover before the writes: the bootstrap account and the device's objects, no DM account yet.
  expect(result!.discover).toMatch(/^<\/>;lwm2m=1\.1,<\/0>;ver=1\.2,<\/0\/0>;uri="coap:\/\/127\.0\.0\.1:\d+",<\/1>;ver=1\.2,<\/3>/);
  // Bootstrap-Read of /1 after the writes, decoded by lwm2m-codec: what node-coap wrote came back.
  expect(result!.serverRead).toMatchObject({ 1: { shortServerId: 1, lifetime: 600, binding: 'U' }, 2: { shortServerId: 2, lifetime: 600 } });

  // coap-shepherd (an independent LwM2M server) registered the device and reads it.
  const cnode = running.shepherd.find('nc-boot')!;
  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'lwm2m-gen' });
  expect((await cnode.readReq('/0/1')).status).toBe('4.01');
  // And the coaps:// account registered over DTLS with the provisioned PSK.
  await first.line(/^registered as nc-boot at .*coaps:\/\//);
  expect(text.decode((await secureDm.read('nc-boot', '/3/0/0', ContentFormat.TEXT)).payload)).toBe('lwm2m-gen');

  // An observation by coap-shepherd before the restart: the battery drains 1 % per 10 s step.
  const notified: unknown[] = [];
  running.shepherd.on('ind', (msg) => { if (msg.type === 'devNotify' && msg.cnode?.clientName === 'nc-boot') notified.push(msg.data); });
  expect((await cnode.observeReq('/3/0/9')).status).toBe('2.05');
  const location = first.lines.find((l) => l.startsWith('registered as nc-boot') && l.includes(`:${running.port})`))!.match(/at (\/rd\/\d+)/)![1]!;
  await stop(first);
  const before = notified.length;

  const second = start();
  expect(await second.line(new RegExp(`^updated ${location.replace(/\//g, '\\/')} .*:${running.port}\\)`))).toBeDefined();
  for (const item of ['restored security /0/1', 'restored security /0/2', 'restored server /1/1', 'restored server /1/2', 'restored observation /3/0/9']) {
    expect(second.lines.some((l) => l.startsWith(item))).toBe(true);
  }
  expect(bs.requests).toEqual(['nc-boot']);
  // The observation made before the restart notifies coap-shepherd again, on the token it knows.
  while (notified.length <= before) await new Promise((r) => setTimeout(r, 200));
  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'lwm2m-gen' });
  await second.line(/^updated .*coaps:\/\//);
  await stop(second);

  const all = [...lines, ...bs.log.map((e) => JSON.stringify(e)), ...bs.failures.map((e) => e.message)].join('\n');
  for (const secret of SECRETS) expect(all).not.toContain(secret);
}, 120_000);
