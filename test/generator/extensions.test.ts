// --check-extensions on a sample app: written against generated Device 1.2, checked again after regenerating a breaking version.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generate } from '../../generator/generate.js';
import { loadObjects } from '../../generator/generate.js';
import { checkExtensions, formatFinding, type ExtensionFinding } from '../../generator/extensions.js';
import { checkExtensionsMain } from '../../generator/diff-cli.js';

const ROOT = process.cwd();
const FIX = join(ROOT, 'test/fixtures/versions');

const APP = `// A sample device app written against Device 1.2.
import type { ExecuteArguments } from '../../../runtime/index.js';
import { DeviceBase } from '../generated/device.js';

export class MyDevice extends DeviceBase {
  constructor() {
    super(0, { manufacturer: 'ACME', errorCode: [0, 5], batteryLevel: 80, supportedBindingAndModes: 'U' });
  }

  reboot(_args: ExecuteArguments): void {}

  override factoryReset(_args: ExecuteArguments): void {}

  protected override onWriteCurrentTime(value: Date): void {
    this.lastSync = value;
  }

  protected override onWriteUtcOffset(value: string): void {
    this.offset = value;
  }

  protected override onReadBatteryLevel(): number {
    return 50;
  }

  protected override onReadManufacturer(): string {
    return 'ACME';
  }

  lastSync: Date | undefined;
  offset = '+00:00';

  charge(): void {
    this.batteryLevel = 90;
    this.errorCode = [1, 7];
  }
}

export function make(): MyDevice {
  const d = new MyDevice();
  d.batteryLevel = 100;
  return d;
}
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noImplicitOverride: true,
    exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: true, noEmit: true, types: ['node'],
  },
  include: ['generated', 'app'],
}, null, 2);

let dir: string;
beforeAll(() => {
  mkdirSync(join(ROOT, 'test'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'test/.tmp-ext-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/my-device.ts'), APP);
  writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gen(version: string): void {
  const outDir = join(dir, 'generated');
  const runtimeImport = relative(outDir, join(ROOT, 'runtime/index.js')).split('\\').join('/');
  const r = generate({ inputs: [join(FIX, version)], outDir, runtimeImport });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(r.ok).toBe(true);
}

const line = (needle: string, from = 0): number => {
  const lines = APP.split('\n');
  const i = lines.findIndex((l, n) => n >= from && l.includes(needle));
  if (i < 0) throw new Error(`no line with ${needle}`);
  return i + 1;
};

function one(fs: readonly ExtensionFinding[], kind: string, member: string): ExtensionFinding {
  const f = fs.filter((x) => x.kind === kind && x.member === member);
  if (f.length !== 1) throw new Error(`expected one ${kind} on ${member}, got:\n${fs.map(formatFinding).join('\n')}`);
  return f[0]!;
}

describe('--check-extensions', () => {
  test('the app fits the version it was written for: no findings, exit 0', async () => {
    gen('device/1.2');
    const out: string[] = [];
    const code = await checkExtensionsMain(['--check-extensions', join(dir, 'tsconfig.json'), '--json'], { out: (l) => out.push(l), err: (l) => out.push(l) });
    const r = JSON.parse(out.join('\n')) as { classes: number; findings: ExtensionFinding[] };
    expect(r.findings.map(formatFinding)).toEqual([]);
    expect(r.classes).toBe(1);
    expect(code).toBe(0);
  });

  test('after regenerating a breaking version, with --previous: exact findings with file:line and what to change', () => {
    gen('device/breaking');
    const previous = loadObjects([join(FIX, 'device/1.2')]).objects.map((o) => o.model);
    const r = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), previous, cwd: ROOT });
    const fs = r.findings;
    const file = relative(ROOT, join(dir, 'app/my-device.ts'));
    expect(fs.every((f) => f.file === file)).toBe(true);

    const removed = one(fs, 'member-removed', 'factoryReset');
    expect(removed).toMatchObject({ line: line('factoryReset'), resourceId: 5 });
    expect(removed.fix).toBe('delete factoryReset from MyDevice: resource 5 (Factory Reset) was removed');

    const renamed = one(fs, 'member-removed', 'onReadBatteryLevel');
    expect(renamed).toMatchObject({ line: line('onReadBatteryLevel'), suggestion: 'onReadBatteryCharge', resourceId: 9 });
    expect(renamed.fix).toBe('rename onReadBatteryLevel to onReadBatteryCharge');

    const readOnly = one(fs, 'member-removed', 'onWriteCurrentTime');
    expect(readOnly.line).toBe(line('onWriteCurrentTime'));
    expect(readOnly.message).toContain('is no longer writable');

    const sig = one(fs, 'hook-signature', 'onWriteUtcOffset');
    expect(sig.line).toBe(line('onWriteUtcOffset'));
    expect(sig.message).toContain('parameter value is string, the runtime passes number');
    expect(sig.fix).toBe('change it to protected override onWriteUtcOffset(value: number, previous: number | undefined): void | Promise<void>');

    const ret = one(fs, 'hook-signature', 'onReadManufacturer');
    expect(ret.line).toBe(line('onReadManufacturer'));
    expect(ret.message).toBe('onReadManufacturer no longer matches DeviceBase (resource 0 (Manufacturer) changed): it returns string, the base expects number');
    expect(ret.fix).toBe('change it to protected override onReadManufacturer(): number');
    const wrongType = one(fs, 'value-out-of-range', 'manufacturer');
    expect(wrongType.message).toContain("manufacturer is given 'ACME', which Manufacturer (/3/x/0) refuses: expected an integer");

    const abs = one(fs, 'abstract-handler', 'selfTest');
    expect(abs).toMatchObject({ line: line('class MyDevice'), resourceId: 23 });
    expect(abs.fix).toBe('implement selfTest(args: ExecuteArguments): void | Promise<void> in MyDevice');

    // Values: the constructor's errorCode [0, 5] and charge()'s [1, 7] are outside the narrowed 0..4.
    const ranges = fs.filter((f) => f.kind === 'value-out-of-range' && f.member === 'errorCode');
    expect(ranges.map((f) => [f.member, f.line])).toEqual([['errorCode', line('super(0')], ['errorCode', line('this.errorCode')]]);
    expect(ranges[0]!.fix).toBe('use a value within 0..4');
    expect(ranges[0]!.message).toContain('errorCode is given [0, 5]');

    // batteryLevel is gone from the values object and from both assignments; each says to use batteryCharge.
    const unknown = fs.filter((f) => f.kind === 'unknown-resource');
    expect(unknown.map((f) => [f.member, f.line, f.suggestion])).toEqual([
      ['batteryLevel', line('super(0'), 'batteryCharge'],
      ['batteryLevel', line('this.batteryLevel'), 'batteryCharge'],
      ['batteryLevel', line('d.batteryLevel'), 'batteryCharge'],
    ]);
    expect(fs).toHaveLength(12);
  });

  test('without --previous, renames are suggested by name similarity', () => {
    const r = checkExtensions({ tsconfig: join(dir, 'tsconfig.json'), cwd: ROOT });
    const renamed = one(r.findings, 'member-removed', 'onReadBatteryLevel');
    expect(renamed.suggestion).toBe('onReadBatteryCharge');
    expect(renamed.fix).toContain('rename onReadBatteryLevel to onReadBatteryCharge if it is the same resource');
    expect(one(r.findings, 'member-removed', 'factoryReset').suggestion).toBeUndefined();
    // The resource is still there, only its write operation went: that much is known without the old version.
    expect(one(r.findings, 'member-removed', 'onWriteCurrentTime')).toMatchObject({
      resourceId: 13, fix: 'delete onWriteCurrentTime from MyDevice',
      message: 'onWriteCurrentTime is not a write hook of DeviceBase any more: resource 13 (Current Time) is no longer writable (operations R)',
    });
  });

  test('checkExtensionsMain prints one line per finding and exits 1', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const code = await checkExtensionsMain(['--check-extensions', '--previous', join(FIX, 'device/1.2'), join(dir, 'tsconfig.json')], io);
    expect(code).toBe(1);
    expect(out.some((l) => /my-device\.ts:\d+:\d+: member-removed: onReadBatteryLevel is now called onReadBatteryCharge .*Fix: rename onReadBatteryLevel to onReadBatteryCharge\.$/.test(l))).toBe(true);
    expect(out[out.length - 1]).toMatch(/^lwm2m-gen --check-extensions: \d+ files, 1 class extending generated code checked, 12 findings$/);
  });
});
