// Firmware Update from the server: push (Block1 to /5/0/0) and pull (the server serves the package for /5/0/1) to the example device, State and Result live.
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { startServer, type RunningServer } from '../../server/cli.js';
import type { FirmwareJobs } from '../../server/firmware.js';
import type { HubEvent } from '../../server/hub.js';
import { loadModels } from '../../server/models.js';

const EP = 'fw-dev';
let running: RunningServer;
let device: SimpleDevice;
let jobs: FirmwareJobs;

beforeEach(async () => {
  running = await startServer({ host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [] }, loadModels([]));
  jobs = running.firmware;
  device = await startSimpleDevice({ server: running.hub.servers[0]!.server.uri(), endpoint: EP, log: () => {} });
});

afterEach(async () => {
  await device?.stop();
  await running?.close();
});

function statuses(): { list: Array<Record<string, unknown>>; end: Promise<Record<string, unknown>> } {
  const list: Array<Record<string, unknown>> = [];
  const end = new Promise<Record<string, unknown>>((resolve) => {
    running.hub.subscribe((e: HubEvent) => {
      if (e.type !== 'firmware') return;
      list.push(e.status);
      if (e.status.phase === 'done' || e.status.phase === 'failed') resolve(e.status);
    });
  });
  return { list, end };
}

const pkg = (version: string, size: number) => new Uint8Array(Buffer.concat([Buffer.from(`version=${version}\n`), Buffer.alloc(size, 0x5a)]));

test('push: the package goes in Block1 to /5/0/0, Update runs, Firmware Version becomes the package\'s', async () => {
  const s = statuses();
  jobs.start(EP, 'push', pkg('3.1.0', 20_000));
  const end = await s.end;
  expect(end).toMatchObject({ phase: 'done', mode: 'push', result: 1, resultName: 'Success', firmwareVersion: '3.1.0' });
  expect(s.list.some((x) => x.state === 2 && x.stateName === 'Downloaded')).toBe(true);
  const sent = s.list.filter((x) => x.phase === 'sending').map((x) => x.bytes as number);
  expect(sent.length).toBeGreaterThan(10);
  expect(sent).toEqual([...sent].sort((a, b) => a - b));
  expect(sent.at(-1)).toBe(20_014);
  // 20 kB cannot go in one datagram: the write was block-wise, and it was one logged request.
  expect(running.hub.log.filter((l) => l.op === 'write' && l.path === '/5/0/0' && l.code === '2.04')).toHaveLength(1);
}, 60_000);

test('pull: the device fetches the package from the URI the server wrote to /5/0/1, block by block, with progress', async () => {
  const s = statuses();
  jobs.start(EP, 'pull', pkg('4.0.0', 5000));
  const end = await s.end;
  expect(end).toMatchObject({ phase: 'done', mode: 'pull', result: 1, firmwareVersion: '4.0.0' });
  const offered = s.list.find((x) => x.phase === 'offered')!;
  expect(offered.uri).toMatch(/^coap:\/\/127\.0\.0\.1:\d+\/fw\/[0-9a-f]{16}$/);
  const served = s.list.filter((x) => x.phase === 'downloading' && typeof x.bytes === 'number').map((x) => x.bytes as number);
  expect(served.length).toBeGreaterThan(1);
  expect(Math.max(...served)).toBe(5014);
}, 60_000);

test('refuses an empty package, a second job for the same client, and an unknown client', async () => {
  expect(() => jobs.start(EP, 'push', new Uint8Array(0))).toThrow('the firmware package is empty');
  const s = statuses();
  jobs.start(EP, 'push', pkg('5.0.0', 100));
  expect(() => jobs.start(EP, 'pull', pkg('5.0.1', 100))).toThrow('already running');
  expect(() => jobs.start('nobody', 'push', pkg('5.0.1', 100))).toThrow('no client is registered as "nobody"');
  await s.end;
}, 60_000);
