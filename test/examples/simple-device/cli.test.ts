// The example device as a child process (`node main.ts` through a transpile-only loader): registers, prints one line per event, de-registers on SIGTERM/SIGINT and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError } from '../../../examples/simple-device/cli.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.mjs');
const MAIN = path.join(ROOT, 'examples/simple-device/main.ts');

interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first output line matching, already printed or to come. */
  line(pattern: RegExp): Promise<string>;
  exit: Promise<number | null>;
}

function run(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', REGISTER, MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  let buffered = '';
  const take = (chunk: Buffer): void => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.pattern.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
    }
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc, lines, exit,
    line: (pattern) => {
      const found = lines.find((l) => pattern.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

let server: TestLwm2mServer;
let child: Child | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: { ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 } });
});
afterEach(async () => {
  if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill('SIGKILL');
    await child.exit;
  }
  child = undefined;
  await server.close();
});

it.each(['SIGTERM', 'SIGINT'] as const)('registers, answers a Read, and on %s de-registers and exits 0', async (signal) => {
  const { address, port } = server.address();
  child = run(['--server', `coap://${address}:${port}`, '--endpoint', 'cli-dev', '--lifetime', '60', '--port', '0']);
  expect(await child.line(/registered/)).toMatch(/registered as cli-dev at \/rd\/\d+/);
  const res = await server.read('cli-dev', '/3/0/0');
  expect(res.code).toBe('2.05');
  await child.line(/GET \/3\/0\/0 -> 2\.05/);
  const from = server.log.length;
  child.proc.kill(signal);
  expect(await child.exit).toBe(0);
  const dereg = await server.waitFor('deregister', () => true, from);
  expect(dereg.code).toBe('2.02');
  expect(child.lines.some((l) => l.includes('deregistered'))).toBe(true);
  expect(server.findRegistration('cli-dev')).toBeUndefined();
});

it('a usage error exits 2 with the usage text, and never echoes the key', async () => {
  child = run(['--server', 'coaps://127.0.0.1:5684', '--endpoint', 'x', '--psk-identity', 'id', '--psk-key', 'zz-secret']);
  expect(await child.exit).toBe(2);
  expect(child.lines.join('\n')).toMatch(/usage error: --psk-key must be an even number of hex digits/);
  expect(child.lines.join('\n')).not.toContain('zz-secret');
});

describe('parseArgs', () => {
  it('maps the command line to options', () => {
    expect(parseArgs(['--server', 'coaps://h:1', '--endpoint', 'e', '--port', '5000', '--lifetime', '90', '--psk-identity', 'id', '--psk-key', '0a0B'])).toMatchObject({
      server: 'coaps://h:1', endpoint: 'e', localPort: 5000, lifetime: 90, pskIdentity: 'id', pskKey: Uint8Array.from([10, 11]),
    });
    expect(parseArgs(['--server', 'coap://h', '--connection-string', 'HostName=a;DeviceId=b;SharedAccessKey=c2VjcmV0'])).toMatchObject({ connectionString: expect.any(String) });
  });
  it('refuses what makes no sense', () => {
    expect(() => parseArgs(['--endpoint', 'e'])).toThrow();
    expect(() => parseArgs(['--server', 'coap://h'])).toThrow(UsageError);
    expect(() => parseArgs(['--server', 'coap://h', '--endpoint', 'e', '--lifetime', '0'])).toThrow(/--lifetime/);
    expect(() => parseArgs(['--server', 'coap://h', '--endpoint', 'e', '--bogus', '1'])).toThrow(/bogus/);
  });
});
