// lwm2m-gen diff on real version pairs (Device, LwM2M Server, Firmware Update 1.0 → 1.1 → 1.2) and on inline breaking edits.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffObjects, formatChange, type Change } from '../../generator/diff.js';
import { diffMain } from '../../generator/diff-cli.js';
import { loadObjects } from '../../generator/generate.js';

const FIX = join(process.cwd(), 'test/fixtures/versions');

function diff(oldPath: string, newPath: string): Change[] {
  const a = loadObjects([join(FIX, oldPath)]);
  const b = loadObjects([join(FIX, newPath)]);
  expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(b.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return [...diffObjects(a.objects, b.objects).changes];
}

function find(changes: Change[], kind: string, resourceId?: number): Change {
  const c = changes.find((x) => x.kind === kind && x.resourceId === resourceId);
  if (!c) throw new Error(`no ${kind} change for ${resourceId}; got\n${changes.map(formatChange).join('\n')}`);
  return c;
}

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await diffMain(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('diff on OMA version pairs', () => {
  test('Device 1.1 → 1.2: Error Code widened (compatible), Battery Level unit changed (breaking both), version and URN', () => {
    const cs = diff('device/1.1', 'device/1.2');
    const ec = find(cs, 'resource-range', 11);
    expect(ec).toMatchObject({ impact: 'compatible', breaks: [], old: '0..8', new: '0..32', path: '/3/x/11' });
    expect(ec.message).toContain('range widened 0..8 → 0..32');
    expect(ec.file).toMatch(/device\/1\.2\/3-device\.xml$/);
    expect(ec.line).toBeGreaterThan(1);
    expect(find(cs, 'resource-units', 9)).toMatchObject({ impact: 'breaking-device', breaks: ['device', 'server'], old: '%', new: '/100' });
    expect(find(cs, 'object-version')).toMatchObject({ impact: 'compatible', old: '1.1', new: '1.2' });
    expect(find(cs, 'object-urn')).toMatchObject({ impact: 'compatible', old: 'urn:oma:lwm2m:oma:3:1.1', new: 'urn:oma:lwm2m:oma:3:1.2' });
    expect(cs).toHaveLength(4);
  });

  test('Device 1.0 → 1.1: an optional resource added is compatible', () => {
    const cs = diff('device/1.0', 'device/1.1');
    expect(find(cs, 'resource-added', 22)).toMatchObject({ impact: 'compatible', new: 'ExtDevInfo' });
    expect(cs.every((c) => c.impact === 'compatible')).toBe(true);
  });

  test('Firmware Update 1.0 → 1.1: resources 10–13 added and Update Result widened, all compatible', () => {
    const cs = diff('firmware-update/1.0', 'firmware-update/1.1');
    expect(cs.filter((c) => c.kind === 'resource-added').map((c) => c.resourceId)).toEqual([10, 11, 12, 13]);
    expect(find(cs, 'resource-range', 5)).toMatchObject({ impact: 'compatible', old: '0..9', new: '0..11' });
    expect(cs.every((c) => c.impact === 'compatible')).toBe(true);
  });

  test('Firmware Update 1.1 → 1.0 is the reverse: removals break both sides, the narrowed read-only range breaks the device', () => {
    const cs = diff('firmware-update/1.1', 'firmware-update/1.0');
    expect(find(cs, 'resource-removed', 10)).toMatchObject({ breaks: ['device', 'server'] });
    expect(find(cs, 'resource-range', 5)).toMatchObject({ breaks: ['device'], impact: 'breaking-device' });
  });

  test('LwM2M Server 1.0 → 1.1 → 1.2 only adds optional resources', () => {
    for (const [a, b] of [['server/1.0', 'server/1.1'], ['server/1.1', 'server/1.2']] as const) {
      const cs = diff(a, b);
      expect(cs.some((c) => c.kind === 'resource-added')).toBe(true);
      expect(cs.filter((c) => c.impact !== 'compatible')).toEqual([]);
    }
  });

  test('Device 1.2 → breaking edit: every kind of breaking change is found and classified', () => {
    const cs = diff('device/1.2', 'device/breaking');
    expect(find(cs, 'resource-renamed', 9)).toMatchObject({ breaks: ['device'], old: 'Battery Level', new: 'Battery Charge' });
    expect(find(cs, 'resource-renamed', 9).message).toContain('member batteryLevel is now batteryCharge');
    expect(find(cs, 'resource-removed', 5)).toMatchObject({ breaks: ['device', 'server'] });
    expect(find(cs, 'resource-removed', 5).file).toMatch(/device\/1\.2\//); // a removal points at the old definition
    expect(find(cs, 'resource-type', 0)).toMatchObject({ breaks: ['device', 'server'], old: 'String', new: 'Integer' });
    expect(find(cs, 'resource-type', 14)).toMatchObject({ breaks: ['device', 'server'], old: 'String', new: 'Integer' });
    const ro = find(cs, 'resource-operations', 13);
    expect(ro).toMatchObject({ breaks: ['device', 'server'], old: 'RW', new: 'R' });
    expect(ro.message).toContain('read-only');
    expect(find(cs, 'resource-range', 11)).toMatchObject({ breaks: ['device'], old: '0..32', new: '0..4' });
    const added = find(cs, 'resource-added', 23);
    expect(added).toMatchObject({ breaks: ['device'] });
    expect(added.message).toContain('abstract execute handler selfTest()');
  });
});

describe('inline edits', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(process.cwd(), 'test/.tmp-diff-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ddf = (items: string, version = '1.0') => `<LWM2M><Object ObjectType="MODefinition"><Name>Widget</Name><ObjectID>26250</ObjectID>
<ObjectURN>urn:oma:lwm2m:x:26250</ObjectURN><LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>${version}</ObjectVersion>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
${items}
</Resources></Object></LWM2M>`;
  const item = (id: number, name: string, ops: string, type: string, extra: { mult?: boolean; mand?: boolean; range?: string; units?: string } = {}) =>
    `<Item ID="${id}"><Name>${name}</Name><Operations>${ops}</Operations><MultipleInstances>${extra.mult ? 'Multiple' : 'Single'}</MultipleInstances>
<Mandatory>${extra.mand ? 'Mandatory' : 'Optional'}</Mandatory><Type>${type}</Type><RangeEnumeration>${extra.range ?? ''}</RangeEnumeration><Units>${extra.units ?? ''}</Units></Item>`;

  function write(name: string, text: string): string {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  }

  test('every generated name that changes is listed with its new name: enum constants, literal types, label constants, hooks', async () => {
    const meter = (items: string) => ddf(items).replace('<Name>Widget</Name>', '<Name>Water Meter</Name>');
    const a = write('a.xml', meter([
      item(0, 'Valve State', 'RW', 'Integer', { range: '0: Closed\n1: Open' }),
      item(1, 'Flow', 'R', 'Float'),
      item(2, 'Mode', 'R', 'Integer', { range: '0: Eco\n1: Boost' }),
    ].join('\n')));
    const b = write('b.xml', meter([
      item(0, 'Valve Status', 'RW', 'Integer', { range: '0: Closed\n1: Open' }),
      item(1, 'Flow', 'R', 'Float'),
      item(2, 'Mode', 'R', 'Integer', { range: '0: Economy\n1: Boost' }),
    ].join('\n')));
    const cs = [...diffObjects(loadObjects([a]).objects, loadObjects([b]).objects).changes];
    const valve = cs.find((c) => c.kind === 'names-changed' && c.resourceId === 0)!;
    expect(valve).toMatchObject({ breaks: ['device'], impact: 'breaking-device', path: '/26250/x/0' });
    expect(valve.names).toEqual([
      { old: 'WaterMeterResource.ValveState', new: 'WaterMeterResource.ValveStatus' },
      { old: 'valveState', new: 'valveStatus' },
      { old: 'onWriteValveState', new: 'onWriteValveStatus' },
      { old: 'onReadValveState', new: 'onReadValveStatus' },
      { old: 'WaterMeterValveState', new: 'WaterMeterValveStatus' },
      { old: 'WaterMeterValveStateValues', new: 'WaterMeterValveStatusValues' },
      { old: 'WaterMeterValveStateValues.Closed', new: 'WaterMeterValveStatusValues.Closed' },
      { old: 'WaterMeterValveStateValues.Open', new: 'WaterMeterValveStatusValues.Open' },
    ]);
    expect(valve.message).toContain('WaterMeterValveStateValues → WaterMeterValveStatusValues');
    // A label renamed: its constant goes, a new one comes; the resource keeps its other names.
    const mode = cs.find((c) => c.kind === 'names-changed' && c.resourceId === 2)!;
    expect(mode.names).toEqual([{ old: 'WaterMeterModeValues.Eco', new: 'WaterMeterModeValues.Economy' }]);
    expect(cs.some((c) => c.kind === 'names-changed' && c.resourceId === 1)).toBe(false);
    // Through the CLI, the line names them too.
    const r = await run([a, b]);
    expect(r.out.join('\n')).toMatch(/breaking-device: \/26250\/x\/0 Valve Status \(0\): generated names change: WaterMeterResource\.ValveState → WaterMeterResource\.ValveStatus, .*WaterMeterValveState → WaterMeterValveStatus, .* \[names-changed\]/);
  });

  test('multiplicity, mandatory, operations, labels and a major version', () => {
    const a = write('a.xml', ddf([
      item(0, 'Level', 'RW', 'Integer', { range: '0..10' }),
      item(1, 'Samples', 'R', 'Float'),
      item(2, 'Mode', 'R', 'Integer', { range: '0: Off\n1: On' }),
      item(3, 'Label', 'RW', 'String', { mand: true }),
      item(4, 'Spare', 'R', 'String'),
    ].join('\n')));
    const b = write('b.xml', ddf([
      item(0, 'Level', 'RW', 'Integer', { range: '0..5' }),
      item(1, 'Samples', 'R', 'Float', { mult: true }),
      item(2, 'Mode', 'R', 'Integer', { range: '0: Off\n1: Running\n2: Paused' }),
      item(3, 'Label', 'RW', 'String'),
      item(4, 'Spare', 'RW', 'String', { mand: true }),
    ].join('\n'), '2.0'));
    const r = diffObjects(loadObjects([a]).objects, loadObjects([b]).objects);
    const cs = [...r.changes];
    // A writable range narrowed: the app's setters and the server's writes both fail on old values.
    expect(find(cs, 'resource-range', 0).breaks).toEqual(['device', 'server']);
    expect(find(cs, 'resource-multiple', 1).breaks).toEqual(['device', 'server']);
    const labels = find(cs, 'resource-enum-labels', 2);
    expect(labels.breaks).toEqual(['device']);
    expect(labels.message).toContain('1: On → Running');
    expect(labels.message).toContain('added: 2: Paused');
    expect(find(cs, 'resource-range', 2).impact).toBe('compatible');
    expect(find(cs, 'resource-mandatory', 3)).toMatchObject({ breaks: ['server'], old: 'Mandatory', new: 'Optional' });
    expect(find(cs, 'resource-operations', 4)).toMatchObject({ breaks: [], old: 'R', new: 'RW' });
    expect(find(cs, 'resource-mandatory', 4)).toMatchObject({ breaks: ['device'] });
    expect(find(cs, 'object-version')).toMatchObject({ breaks: ['device', 'server'], old: '1.0', new: '2.0' });
    expect(r.breakingDevice).toBeGreaterThan(0);
    expect(r.breakingServer).toBeGreaterThan(0);
  });

  test('an object removed and one added; a rename that keeps the member name is compatible', () => {
    const a = write('a.xml', ddf(item(0, 'UTC Offset', 'R', 'String')));
    const b = write('b.xml', ddf(item(0, 'UTC offset', 'R', 'String')));
    const cs = [...diffObjects(loadObjects([a]).objects, loadObjects([b]).objects).changes];
    expect(find(cs, 'resource-renamed', 0)).toMatchObject({ impact: 'compatible' });
    const dev = loadObjects([join(FIX, 'device/1.0')]).objects;
    const both = [...diffObjects(loadObjects([a]).objects, dev).changes];
    expect(find(both, 'object-removed')).toMatchObject({ objectId: 26250, breaks: ['device', 'server'] });
    expect(find(both, 'object-added')).toMatchObject({ objectId: 3, breaks: ['device'] }); // Device is mandatory
  });
});

describe('diffMain', () => {
  test('text output: one line per change with file:line of the new definition; exit 1 on breaking changes', async () => {
    const r = await run([join(FIX, 'device/1.2'), join(FIX, 'device/breaking')]);
    expect(r.code).toBe(1);
    const line = r.out.find((l) => l.includes('[resource-range]'));
    expect(line).toMatch(/device\/breaking\/3-device\.xml:\d+:\d+: breaking-device: \/3\/x\/11 Error Code \(11\): range narrowed 0\.\.32 → 0\.\.4 \[resource-range\]$/);
    expect(r.out[r.out.length - 1]).toMatch(/^lwm2m-gen diff: \d+ changes: \d+ breaking for device apps/);
  });

  test('--allow-breaking exits 0; a compatible pair exits 0', async () => {
    expect((await run([join(FIX, 'device/1.2'), join(FIX, 'device/breaking'), '--allow-breaking'])).code).toBe(0);
    expect((await run([join(FIX, 'firmware-update/1.0/5-firmware-update.xml'), join(FIX, 'firmware-update/1.1/5-firmware-update.xml')])).code).toBe(0);
  });

  test('--json gives the changes and the counts', async () => {
    const r = await run([join(FIX, 'firmware-update/1.0'), join(FIX, 'firmware-update/1.1'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out.join('\n')) as { breaking: boolean; changes: Change[]; compatible: number };
    expect(j.breaking).toBe(false);
    expect(j.changes.find((c) => c.resourceId === 5)).toMatchObject({ kind: 'resource-range', impact: 'compatible' });
    expect(j.compatible).toBe(j.changes.length);
  });

  test('usage errors exit 2; unreadable input exits 1', async () => {
    expect((await run([join(FIX, 'device/1.0')])).code).toBe(2);
    const r = await run([join(FIX, 'device/1.0'), join(FIX, 'nope.xml')]);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('io-read');
  });
});

test('identical versions: no changes, exit 0', async () => {
  const r = await run([join(FIX, 'server/1.2'), join(FIX, 'server/1.2/1-lwm2m-server.xml')]);
  expect(r.code).toBe(0);
  expect(r.out).toEqual(['lwm2m-gen diff: no changes']);
});

test('ts-morph stays off the generate and diff paths: only a dynamic import in checkExtensionsMain reaches it', () => {
  const staticImports = (file: string) => [...readFileSync(join(process.cwd(), file), 'utf8').matchAll(/^import [^;]*? from '([^']+)'/gms)].map((m) => m[1]);
  for (const f of ['generator/diff.ts', 'generator/diff-cli.ts', 'generator/generate.ts', 'generator/cli.ts']) {
    expect(staticImports(f)).not.toContain('ts-morph');
    expect(staticImports(f)).not.toContain('./extensions.js');
  }
  expect(readFileSync(join(process.cwd(), 'generator/diff-cli.ts'), 'utf8')).toContain("await import('./extensions.js')");
});
