// The example's --send and --send-interval: the CLI as a child process against the test server, the path checks, and the provisioned device's Send.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { Device } from '../../../generated/device.js';
import { parseArgs, UsageError } from '../../../examples/simple-device/cli.js';
import { startProvisionedDevice } from '../../../examples/simple-device/provisioned.js';
import { parseSendPaths, SendPathsError } from '../../../examples/simple-device/send.js';
import { runDevice, type DeviceProcess } from '../support/device-process.js';

const fast = { ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 };
let server: TestLwm2mServer;
let child: DeviceProcess | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
});
afterEach(async () => {
  await child?.kill();
  child = undefined;
  await server.close();
});

describe('the command line', () => {
  it('splits --send into paths and refuses one that is not a path, naming it; --send-interval needs --send', () => {
    const base = ['--server', 'coap://127.0.0.1:5683', '--endpoint', 'd'];
    expect(parseArgs([...base, '--send', '/3/0/9,/3/0/13', '--send-interval', '5'])).toMatchObject({ sendPaths: ['/3/0/9', '/3/0/13'], sendIntervalMs: 5000 });
    expect(parseArgs([...base, '--send', '/3/0/9'])).not.toHaveProperty('sendIntervalMs');
    expect(() => parseArgs([...base, '--send', '/3/0/9,/3/x'])).toThrow(new UsageError('--send: "/3/x" is not an LwM2M path (comma-separated, e.g. /3/0/9,/3/0/13)'));
    expect(() => parseArgs([...base, '--send', '/3/0/9,'])).toThrow(UsageError);
    expect(() => parseArgs([...base, '--send-interval', '5'])).toThrow(new UsageError('--send-interval needs --send PATHS'));
    expect(() => parseArgs([...base, '--send', '/3/0/9', '--send-interval', '0'])).toThrow(new UsageError('--send-interval must be an integer in 1..86400'));
    expect(() => parseSendPaths('3/0/9')).toThrow(SendPathsError);
  });
});

describe('the device as a child process', () => {
  it('with --send /3/0/9,/3/0/13 --send-interval 1 delivers SenML CBOR to /dp every second and prints each result', async () => {
    const { address, port } = server.address();
    child = runDevice(['--server', `coap://${address}:${port}`, '--endpoint', 'send-cli', '--lifetime', '60', '--send', '/3/0/9,/3/0/13', '--send-interval', '1']);
    const first = await server.nextSend('send-cli', { timeoutMs: 60_000 });
    const second = await server.nextSend('send-cli', { timeoutMs: 10_000 });
    for (const report of [first, second]) {
      expect(report.contentFormat).toBe(112);
      expect(report.values.map((v) => v.path)).toEqual(['/3/0/9', '/3/0/13']);
      const typed = report.typed([Device]);
      expect(typeof typed[0]!.value).toBe('number');
      expect(typed[1]!.value).toBeInstanceOf(Date);
      expect(Math.abs(report.values[0]!.time!.getTime() - report.receivedAt)).toBeLessThan(5000);
    }
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(500);
    await child.line(/^send \/3\/0\/9,\/3\/0\/13 -> 2\.04 \(2 values, SenML CBOR\)$/);
    // A server that mutes Send gets nothing more; the device says why.
    expect((await server.write('send-cli', '/1/0/23', '1', 0)).code).toBe('2.04');
    const muted = /^send \/3\/0\/9,\/3\/0\/13 failed: Send is muted for server 1 \(Mute Send \/1\/x\/23 is true\)$/;
    await child.line(muted);
    const count = server.sends('send-cli').length;
    await waitFor(() => child!.lines.filter((l) => muted.test(l)).length >= 2, 10_000);
    expect(server.sends('send-cli')).toHaveLength(count);
    child.proc.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 90_000);

  it('a --send path the device lacks exits 2 naming it, before registering', async () => {
    const { address, port } = server.address();
    child = runDevice(['--server', `coap://${address}:${port}`, '--endpoint', 'send-bad', '--send', '/3/0/9,/3/0/99']);
    expect(await child.exit).toBe(2);
    expect(child.lines.join('\n')).toMatch(/usage error: --send: \/3\/0\/99: no such resource in this object/);
    expect(server.log.filter((e) => e.kind === 'register')).toHaveLength(0);
  }, 90_000);
});

describe('the provisioned device (DeviceClient)', () => {
  it('sends once after its first registration, to its server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'send-provisioned-'));
    const lines: string[] = [];
    const { address, port } = server.address();
    const device = await startProvisionedDevice({
      server: `coap://${address}:${port}`, endpoint: 'send-prov', stateDir: dir, coap: fast, sendPaths: ['/3/0/9', '/3/0/0'],
      preferredFormat: 110, log: (l) => lines.push(l),
    });
    try {
      const report = await server.nextSend('send-prov');
      expect([report.contentFormat, report.values.map((v) => v.path)]).toEqual([110, ['/3/0/9', '/3/0/0']]);
      await waitFor(() => lines.some((l) => l === 'send /3/0/9,/3/0/0 -> 2.04 (2 values, SenML JSON)'));
      await expect(server.nextSend('send-prov', { timeoutMs: 300 })).rejects.toThrow('no Send from send-prov within 300 ms');
    } finally {
      await device.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a path in the Security object', async () => {
    const { address, port } = server.address();
    await expect(startProvisionedDevice({
      server: `coap://${address}:${port}`, endpoint: 'send-sec', coap: fast, sendPaths: ['/0/0/5'], log: () => undefined,
    })).rejects.toThrow(new SendPathsError('--send: /0/0/5: the Security object holds keys and is never sent'));
    expect(server.log).toHaveLength(0);
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
