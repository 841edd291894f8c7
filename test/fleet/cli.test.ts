// `lwm2m-gen fleet` in-process and as a child process: live view, JSON summary, targets as exit codes, SIGINT, bad input refused with 2.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetMain, parseValueOption, type FleetCliIo } from '../../fleet/cli.js';
import { TestLwm2mServer } from '../../testing/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.mjs');

interface FakeIo extends FleetCliIo {
  readonly out: string[];
  readonly err: string[];
  interrupt(): void;
}

function fakeIo(tty = false): FakeIo {
  const out: string[] = [];
  const err: string[] = [];
  let stop: (() => void) | undefined;
  return {
    out, err,
    stdout: { write: (t) => { out.push(t); }, isTTY: tty, columns: 100 },
    stderr: { write: (t) => { err.push(t); }, isTTY: false },
    onInterrupt: (s) => { stop = s; return () => { stop = undefined; }; },
    interrupt: () => stop?.(),
  };
}

let server: TestLwm2mServer;
let uri: string;
beforeEach(async () => {
  server = await TestLwm2mServer.start();
  uri = `coap://127.0.0.1:${server.address().port}`;
});
afterEach(() => server.close());

describe('lwm2m-gen fleet', () => {
  it('runs for --duration, prints a JSON summary, and exits 0 when --expect-registered is met', async () => {
    const io = fakeIo();
    const code = await fleetMain(['--server', uri, '--devices', '12', '--duration', '0.5', '--json', '--expect-registered', '0.99'], io);
    expect(code).toBe(0);
    const summary = JSON.parse(io.out.join('')) as Record<string, unknown>;
    expect(summary).toMatchObject({ target: 12, everRegistered: 12, registeredAtEnd: 12, deregistrations: 12, expectRegistered: 0.99, met: true, errors: {} });
    expect(server.registrations.size).toBe(0);
    // The live view went to stderr, as plain lines (not a TTY).
    expect(io.err.join('')).toMatch(/^fleet \d+\.\ds started \d+\/12 registered \d+ reg\/s/m);
  });

  it('exits 1 when the share registered misses --expect-registered', async () => {
    await server.close();
    server = await TestLwm2mServer.start({ root: 'elsewhere' });
    const io = fakeIo();
    const code = await fleetMain(['--server', `coap://127.0.0.1:${server.address().port}`, '-n', '4', '--duration', '0.3', '--expect-registered', '0.5'], io);
    expect(code).toBe(1);
    const text = io.out.join('');
    expect(text).toContain('lwm2m-gen fleet: 0/4 devices registered');
    expect(text).toContain('errors: register 4.04 4');
    expect(text).toContain('target: 50 % registered: missed');
  });

  it('on a TTY draws a block with the progress bar, stops on interrupt and de-registers everyone', async () => {
    const io = fakeIo(true);
    const run = fleetMain(['--server', uri, '--devices', '10', '--ramp', '5', '--value', '3/0/9:random-walk:min=0,max=100,step=5,every=0.1'], io);
    // Interrupted once the view has redrawn mid-ramp (every 500 ms on a TTY).
    while (!/\[#+\.+\]/.test(io.out.join(''))) await new Promise((r) => setTimeout(r, 20));
    io.interrupt();
    expect(await run).toBe(0);
    const text = io.out.join('');
    expect(text).toMatch(/ramp-up {4}\[#+\.+\] \d+\/10 started/);
    expect(text).toMatch(/registered \d+\/10 {3}registrations\/s [\d.]+/);
    expect(text).toMatch(/response {3}p50 [\d.]+ ms {3}p99 [\d.]+ ms/);
    expect(text).toContain('\x1b[2K');
    expect(text).toMatch(/lwm2m-gen fleet: stopping, de-registering \d+ devices/);
    expect(server.registrations.size).toBe(0);
    // Interrupted during the ramp: the devices not started yet never were.
    expect(server.log.filter((e) => e.kind === 'register').length).toBeLessThan(10);
  });

  it.each([
    [['--server', 'coap//x', '-n', '2'], /--server: the server URI is not a valid URI: write e.g. coap:\/\/127.0.0.1:5683/],
    [['--server', 'coaps://127.0.0.1', '-n', '2', '--psk-key', 'zz{i}'], /--psk-key: psk-key of device 0: the PSK key is not hex/],
    [['--server', 'coap://127.0.0.1', '-n', '99999999'], /--devices: 99999999 devices need 100000063 open files .*ulimit -n 100000063/],
    [['--server', 'coap://127.0.0.1', '-n', '2', '--value', '3/0/9:walk'], /--value 3\/0\/9:walk: write PATH:KIND/],
    [['--server', 'coap://127.0.0.1', '-n', '2', '--value', '3/0/9:sine:min=1,max=2'], /period must be a number/],
    [['--server', 'coap://127.0.0.1', '-n', '2', '--expect-registered', '99'], /give a share from 0 to 1/],
    [['--server', 'coap://127.0.0.1', '-n', '2', '--objects', 'nowhere.js'], /--objects: nowhere.js: cannot load it/],
    [['-n', '2'], /Missing required argument: server/],
    [['--server', 'coap://127.0.0.1', '-n', '2', '--bogus'], /Unknown argument: bogus/],
  ])('refuses %j with exit 2 before anything starts', async (argv, message) => {
    const io = fakeIo();
    expect(await fleetMain(argv, io)).toBe(2);
    expect(io.err.join('')).toMatch(message);
    expect(io.err.join('')).not.toMatch(/\n\s+at /); // no stack trace
    expect(server.log).toHaveLength(0);
  });

  it('parses --value specs', () => {
    expect(parseValueOption('3/0/9:replay:file=a.csv,column=2,every=5')).toEqual({ path: '3/0/9', everySeconds: 5, generator: { kind: 'replay', file: 'a.csv', column: 2 } });
    expect(parseValueOption('3/0/17:constant:value=sim')).toEqual({ path: '3/0/17', everySeconds: 1, generator: { kind: 'constant', value: 'sim' } });
  });
});

describe('lwm2m-gen fleet as a process', () => {
  it('registers, de-registers every device on SIGINT and exits 0', async () => {
    const main = `const { main } = await import(${JSON.stringify(path.join(ROOT, 'generator/cli.ts'))}); process.exitCode = await main(process.argv.slice(1));`;
    const proc = spawn(process.execPath, ['--import', REGISTER, '--input-type=module', '-e', main, 'fleet', '--server', uri, '--devices', '20'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    proc.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    while (server.registrations.size < 20) await new Promise((r) => setTimeout(r, 20));
    proc.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(server.registrations.size).toBe(0);
    expect(server.log.filter((e) => e.kind === 'deregister')).toHaveLength(20);
    expect(output).toContain('lwm2m-gen fleet: 20/20 devices registered, 20 registrations, 0 updates, 20 de-registered');
  }, 30_000);
});
