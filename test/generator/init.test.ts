// lwm2m-gen init: what it refuses (exit 2, nothing written), what it writes, and the new project's own npm install, test and start.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../generator/cli.js';
import { generate } from '../../generator/generate.js';
import { DeviceBase } from '../../generated/device.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const repo = process.cwd();
let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lwm2m-init-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['init', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('lwm2m-gen init: bad input', () => {
  it('refuses a folder that exists and is not empty', async () => {
    const dir = join(tmp, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const r = await run(dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exists and is not an empty folder; nothing written/);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('refuses an unknown object id, naming those it accepts', async () => {
    const dir = join(tmp, 'app');
    const r = await run(dir, '--objects', '26241,9999');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown object id 9999; --objects accepts 0 \(LwM2M Security\), 1 \(LwM2M Server\), 3 \(Device\), 5 \(Firmware Update\), 26241 \(Config\)/);
    expect(existsSync(dir)).toBe(false);
    expect((await run(dir, '--objects', 'config')).err).toMatch(/--objects takes object ids \(numbers\), not "config"/);
  });

  it('refuses a server URI it cannot use, saying what it accepts', async () => {
    const dir = join(tmp, 'app');
    for (const uri of ['http://example.com', 'not a uri', 'coap://']) {
      const r = await run(dir, '--server', uri);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/give coap:\/\/HOST\[:PORT\], coaps:\/\/, coap\+tcp:\/\/ or coaps\+tcp:\/\//);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses usage errors with exit 2 and prints help with 0', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('a', 'b')).err).toMatch(/one folder only/);
    expect((await run('a', '--frobnicate')).err).toMatch(/unknown option --frobnicate/);
    expect((await run('--help')).code).toBe(0);
  });
});

describe('lwm2m-gen init: the project', () => {
  it('writes the project, with generated/ exactly what its registry/ makes and lwm2m-gen packed into vendor/', async () => {
    const dir = join(tmp, 'My Device');
    const r = await run(dir, '--objects', '26241', '--server', 'coap://127.0.0.1:15683');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Next:\n {2}cd .* && npm install\n {2}npm test$/);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(pkg['name']).toBe('my-device');
    expect(pkg['type']).toBe('module');
    expect(Object.keys(pkg['scripts']!)).toEqual(['generate', 'build', 'start', 'test']);
    expect(pkg['dependencies']!['lwm2m-gen']).toBe('file:vendor/lwm2m-gen-0.1.0.tgz');
    expect(existsSync(join(dir, 'vendor', 'lwm2m-gen-0.1.0.tgz'))).toBe(true);
    expect(readdirSync(join(dir, 'registry')).sort()).toEqual(['1-lwm2m-server.xml', '26241-config.xml', '3-device.xml', '5-firmware-update.xml']);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('node_modules/');
    expect(readFileSync(join(dir, 'src', 'main.ts'), 'utf8')).toContain("default: \"coap://127.0.0.1:15683\"");
    expect(JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).compilerOptions).toMatchObject({ strict: true, module: 'NodeNext' });
    const check = generate({ inputs: [join(dir, 'registry')], outDir: join(dir, 'generated'), check: true });
    expect(check.outOfDate).toEqual({ changed: [], stale: [], unchanged: 5 });
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/generate, extend, regenerate/);
  });
});

/** The promise's value, or a rejection naming what the device printed when it takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, output: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms; the device printed:\n${output()}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command in the project; rejects with its output when it fails. */
function npm(cwd: string, args: string[], timeoutMs: number): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('lwm2m-gen init: from nothing to a tested device (real CLI, npm install from the registry)', () => {
  it('init, npm install, npm test, and npm start -- --server registers with a server there', async () => {
    execFileSync(process.execPath, [join(repo, 'bin', 'lwm2m-gen.js'), 'init', 'app'], { cwd: tmp, encoding: 'utf8' });
    const app = join(tmp, 'app');
    npm(app, ['install'], 240_000);
    const tested = npm(app, ['test'], 120_000);
    expect(tested).toMatch(/# pass 4\n# fail 0/);

    const server = await TestLwm2mServer.start();
    const child = spawn('npm', ['start', '--', '--server', server.uri(), '--endpoint', 'started-001'], {
      cwd: app, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const dev = await within(server.registration('started-001', { timeoutMs: 60_000 }), 65_000, () => output);
      expect(await dev.read(DeviceBase, 0, 'manufacturer')).toBe('ACME');
      const deregistered = server.waitFor('deregister');
      // The whole group, as a terminal's Ctrl-C does: npm, its shell and the device.
      process.kill(-child.pid!, 'SIGINT');
      expect((await within(deregistered, 20_000, () => output)).code).toBe('2.02');
      await within(exited, 20_000, () => output);
      expect(output).toMatch(/SIGINT: de-registering/);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      await server.close();
    }
  }, 420_000);
});
