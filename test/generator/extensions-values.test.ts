// --check-extensions on Firmware Update: a compatible regeneration (1.0 → 1.1) leaves nothing to change; literal values are checked against the current range.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generate } from '../../generator/generate.js';
import { checkExtensions, formatFinding } from '../../generator/extensions.js';
import { checkExtensionsMain } from '../../generator/diff-cli.js';

const ROOT = process.cwd();
const FIX = join(ROOT, 'test/fixtures/versions');

// Written against Firmware Update 1.0; an abstract middle class sits between the app class and the generated base.
const APP = `import type { ExecuteArguments } from '../../../runtime/index.js';
import { FirmwareUpdateBase } from '../generated/firmware-update.js';

export abstract class Updater extends FirmwareUpdateBase {
  protected abstract flash(): void;

  update(_args: ExecuteArguments): void {
    this.state = 3;
    this.flash();
    this.updateResult = 1;
  }

  protected override onWritePackageUri(value: string, _previous: string | undefined): void {
    if (value !== '') this.state = 1;
  }
}

export class Flasher extends Updater {
  protected flash(): void {
    this.updateResult = UPDATE_RESULT;
  }

  fail(): void {
    this.updateResult = 10;
  }
}

const UPDATE_RESULT = 8;

export function reset(u: FirmwareUpdateBase): void {
  u.state = 7;
}

export const flasher = new Flasher(0, { state: 0, updateResult: 0, firmwareUpdateDeliveryMethod: 2, pkgName: 'fw' });
export const wrong = new Flasher(0, { state: 4, firmwareUpdateProtocolSupport: [0, 1, 9] });
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noImplicitOverride: true,
    skipLibCheck: true, noEmit: true, types: ['node'],
  },
  include: ['generated', 'app'],
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(ROOT, 'test/.tmp-ext-values-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/updater.ts'), APP);
  writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gen(version: string): void {
  const outDir = join(dir, 'generated');
  const r = generate({ inputs: [join(FIX, version)], outDir, runtimeImport: relative(outDir, join(ROOT, 'runtime/index.js')) });
  expect(r.ok).toBe(true);
}

const line = (needle: string): number => APP.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('Firmware Update 1.0: literal values outside the current ranges are found, through a middle class and new-expressions', () => {
  gen('firmware-update/1.0');
  const r = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT });
  expect(r.classes).toBe(2);
  expect(r.findings.map((f) => [f.kind, f.member, f.line, f.className])).toEqual([
    ['value-out-of-range', 'updateResult', line('this.updateResult = 10'), 'Flasher'],
    ['value-out-of-range', 'state', line('u.state = 7'), 'FirmwareUpdateBase'],
    ['value-out-of-range', 'state', line('export const wrong'), 'Flasher'],
    ['value-out-of-range', 'firmwareUpdateProtocolSupport', line('export const wrong'), 'Flasher'],
  ]);
  const tooBig = r.findings[0];
  expect(formatFinding(tooBig!)).toMatch(/updater\.ts:\d+:25: value-out-of-range: updateResult is set to 10, which Update Result \(\/5\/x\/5\) refuses: value 10 is outside the range 0\.\.9\. Fix: use a value within 0\.\.9\.$/);
});

test('after the compatible regeneration to 1.1 (Update Result widened to 0..11), 10 is fine and nothing else changes', () => {
  gen('firmware-update/1.1');
  const r = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT });
  expect(r.findings.map((f) => [f.kind, f.member])).toEqual([
    ['value-out-of-range', 'state'],
    ['value-out-of-range', 'state'],
    ['value-out-of-range', 'firmwareUpdateProtocolSupport'],
  ]);
});

test('a tsconfig that does not exist: a one-line error and exit 1; extra arguments: usage, exit 2', async () => {
  const err: string[] = [];
  const io = { out: (l: string) => err.push(l), err: (l: string) => err.push(l) };
  expect(await checkExtensionsMain(['--check-extensions', join(dir, 'missing/tsconfig.json')], io)).toBe(1);
  expect(err[0]).toMatch(/^lwm2m-gen --check-extensions: .*missing\/tsconfig\.json/);
  expect(await checkExtensionsMain(['--check-extensions', 'a.json', 'b.json'], io)).toBe(2);
});

test('--include and --exclude choose the files; a marker comment makes a deliberate out-of-range literal no finding', async () => {
  gen('firmware-update/1.0');
  const deliberate = `import { Flasher } from './updater.js';

// lwm2m-gen-allow-out-of-range: the constructor must refuse it
export const refused = (): Flasher => new Flasher(0, { state: 9, updateResult: 0, firmwareUpdateDeliveryMethod: 2 });
export const alsoRefused = (f: Flasher): void => { f.updateResult = 42; }; // lwm2m-gen-allow-out-of-range
export const notMarked = (f: Flasher): void => { f.updateResult = 43; };
`;
  writeFileSync(join(dir, 'app/deliberate.ts'), deliberate);
  try {
    const rel = relative(ROOT, dir);
    const only = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT, include: [`${rel}/app/deliberate.ts`] });
    expect(only.files).toBe(1);
    expect(only.allowed).toBe(2);
    expect(only.findings.map((f) => [f.member, f.line])).toEqual([['updateResult', 6]]);
    const without = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT, exclude: [`${rel}/app/deliberate.ts`, 'runtime/'] });
    expect(without.findings.map((f) => f.file)).toEqual(Array(4).fill(`${rel}/app/updater.ts`));
    const globbed = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT, include: [`${rel}/**/*.ts`], exclude: ['**/updater.ts'] });
    expect(globbed.files).toBe(1);
    // Through the CLI: repeatable options, the marker counted in the summary line.
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const code = await checkExtensionsMain(['--check-extensions', join(dir, 'tsconfig.json'), '--include', `${rel}/app/**`, '--exclude', '**/updater.ts'], io);
    expect(code).toBe(1);
    expect(out[out.length - 1]).toBe('lwm2m-gen --check-extensions: 1 file, 0 classes extending generated code checked, 2 deliberate out-of-range values allowed by lwm2m-gen-allow-out-of-range, 1 finding');
    expect(await checkExtensionsMain(['--check-extensions', '--include'], io)).toBe(2);
  } finally {
    rmSync(join(dir, 'app/deliberate.ts'));
  }
});
