// The built package as apps consume it: a CommonJS app and an ESM app, each compiled by tsc with its own settings, register over UDP.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const run = promisify(execFile);
const root = resolve('.');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

// The app an npm user writes: the generated Device class extended, connected with connectClient, one Register.
const APP = `
import { connectClient, createSasToken, type ExecuteArguments } from 'lwm2m-gen/runtime';
import { DeviceBase } from '../generated/device.js';

class MyDevice extends DeviceBase {
  reboot(_args: ExecuteArguments): void {}
}

async function main(): Promise<void> {
  const token = createSasToken({ resourceUri: 'hub/devices/app', key: Buffer.from('secret').toString('base64'), expiry: 1 });
  const { client, close } = await connectClient(process.argv[2]!, { endpointName: 'module-app', lifetime: 60 });
  client.addInstance(new MyDevice(0, { manufacturer: 'ACME', supportedBindingAndModes: 'U', errorCode: [0] }));
  client.on('registered', async () => {
    console.log(\`registered \${typeof require === 'function' ? 'cjs' : 'esm'} \${token.length > 0}\`);
    await close();
  });
  await client.start();
}
main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
`;

interface AppSetup {
  readonly type: 'commonjs' | 'module';
  readonly compilerOptions: Record<string, unknown>;
}

/** Writes an app folder that depends on this package (a symlink, as npm's file: dependency makes). */
function writeApp(setup: AppSetup): string {
  const dir = mkdtempSync(join(tmpdir(), 'lwm2m-app-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'generated'));
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules/lwm2m-gen'), 'dir');
  symlinkSync(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
  copyFileSync(join(root, 'generated/device.ts'), join(dir, 'generated/device.ts'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: setup.type }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2022', outDir: 'dist', rootDir: '.', types: ['node'], skipLibCheck: false, ...setup.compilerOptions },
    include: ['src', 'generated'],
  }));
  writeFileSync(join(dir, 'src/app.ts'), APP);
  return dir;
}

describe('apps on Node 20', () => {
  let server: TestLwm2mServer;
  const dirs: string[] = [];
  beforeEach(async () => {
    server = await TestLwm2mServer.start();
  });
  afterEach(async () => {
    await server.close();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cases: Array<[string, AppSetup, string]> = [
    ['CommonJS, module commonjs (classic resolution through typesVersions)', { type: 'commonjs', compilerOptions: { module: 'commonjs', esModuleInterop: true } }, 'cjs'],
    ['CommonJS, module node16', { type: 'commonjs', compilerOptions: { module: 'node16' } }, 'cjs'],
    ['ESM, module nodenext', { type: 'module', compilerOptions: { module: 'nodenext' } }, 'esm'],
  ];
  it.each(cases)('%s: compiles with tsc strict and registers', async (_name, setup, kind) => {
    const dir = writeApp(setup);
    dirs.push(dir);
    await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir });
    const { port } = server.address();
    const out = await run(process.execPath, [join(dir, 'dist/src/app.js'), `coap://127.0.0.1:${port}`], { cwd: dir, timeout: 15_000 });
    expect(out.stdout.trim()).toBe(`registered ${kind} true`);
    expect(out.stderr).toBe('');
    expect(server.log.filter((e) => e.kind === 'register').map((e) => e.query)).toEqual([
      expect.arrayContaining(['ep=module-app', 'lt=60']),
    ]);
  }, 60_000);

  it('require() of lwm2m-gen/runtime from the package root gives the CommonJS build', async () => {
    const out = await run(process.execPath, ['-p', "typeof require('lwm2m-gen/runtime').createSasToken"], { cwd: root });
    expect(out.stdout.trim()).toBe('function');
  });
});
