import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ddf, item, runCli, tempDir } from './helpers.js';
import { typeCheck } from './typecheck.js';

const registry = join(process.cwd(), 'registry');
const registryFiles = readdirSync(registry).filter((f) => f.endsWith('.xml')).map((f) => join(registry, f));
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('lwm2m-gen CLI', () => {
  const t = tempDir('cli');
  afterAll(() => t.cleanup());

  it('generates the registry with one summary line and exit 0', async () => {
    const r = await runCli([...registryFiles, '--out', join(t.dir, 'a')]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^lwm2m-gen: 4 objects, 68 resources, 5 files \(5 written, 0 unchanged\), 0 warnings, \d+ ms\n$/);
  });

  it('writes byte-identical output whatever the order of the inputs', async () => {
    await runCli([...registryFiles].reverse().concat(['--out', join(t.dir, 'b')]));
    expect(snapshot(join(t.dir, 'b'))).toEqual(snapshot(join(t.dir, 'a')));
  });

  it('matches the committed generated/ folder (the golden output)', async () => {
    const r = await runCli([...registryFiles, '--check']);
    expect(r.out).toMatch(/up to date/);
    expect(r.code).toBe(0);
  });

  it('--check fails after an edit, naming the file, and writes nothing', async () => {
    const src = t.write('check/src/obj.xml', ddf({ items: [item({ id: 0, name: 'Level' })] }));
    const out = join(t.dir, 'check', 'out');
    expect((await runCli([src, '--out', out])).code).toBe(0);
    expect((await runCli([src, '--out', out, '--check'])).code).toBe(0);
    writeFileSync(src, ddf({ items: [item({ id: 0, name: 'Level' }), item({ id: 1, name: 'Extra' })] }));
    const before = snapshot(out);
    const r = await runCli([src, '--out', out, '--check']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/test-object\.ts: differs/);
    expect(r.out).toMatch(/out of date/);
    expect(snapshot(out)).toEqual(before);
  });

  it('bad input: exit 1, file:line:col message, no stack trace, output untouched', async () => {
    const out = join(t.dir, 'bad-out');
    const good = t.write('bad/good.xml', ddf());
    expect((await runCli([good, '--out', out])).code).toBe(0);
    const before = snapshot(out);
    const bad = t.write('bad/broken.xml', ddf({ id: 26243 }).replace('</Resources>', ''));
    const r = await runCli([good, bad, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.xml:\d+:\d+: error: malformed XML: .* \[xml-malformed\]/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toMatch(/nothing written/);
    expect(snapshot(out)).toEqual(before);
  });

  it('a missing input file is an error, not a crash', async () => {
    const r = await runCli([join(t.dir, 'nope.xml'), '--out', join(t.dir, 'nope-out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nope\.xml:1:1: error: cannot read the file \(ENOENT\) \[io-read\]/);
    expect(existsSync(join(t.dir, 'nope-out'))).toBe(false);
  });

  it('usage errors exit 2 and list the options', async () => {
    const r = await runCli(['--frobnicate', 'x.xml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown argument: frobnicate/);
    expect(r.err).toMatch(/--check/);
    expect((await runCli([])).code).toBe(2);
  });

  it('--help and --version', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/--runtime-import/);
    const v = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(v.out.trim()).toBe(pkg.version);
  });

  it('--json gives machine-readable diagnostics', async () => {
    const f = t.write('json/w.xml', ddf({ items: [item({ id: 0, range: 'whatever' })] }));
    const r = await runCli([f, '--out', join(t.dir, 'json-out'), '--json']);
    const j = JSON.parse(r.out) as { ok: boolean; diagnostics: Array<{ rule: string; line: number; file: string }> };
    expect(j.ok).toBe(true);
    expect(j.diagnostics).toEqual([expect.objectContaining({ rule: 'range-unparsed', line: 15, severity: 'warning' })]);
    const strict = await runCli([f, '--out', join(t.dir, 'json-out2'), '--strict']);
    expect(strict.code).toBe(1);
  });

  it('--runtime-import changes the specifier; --docs writes Markdown; stale generated files are removed', async () => {
    const out = join(t.dir, 'opts');
    const f1 = t.write('opts/one.xml', ddf({ id: 26250, name: 'One' }));
    const f2 = t.write('opts/two.xml', ddf({ id: 26251, name: 'Two' }));
    await runCli([f1, f2, '--out', out, '--runtime-import', '../rt/index.js', '--docs', join(t.dir, 'docs')]);
    expect(readFileSync(join(out, 'one.ts'), 'utf8')).toContain('from "../rt/index.js"');
    expect(readFileSync(join(t.dir, 'docs', 'one.md'), 'utf8')).toMatch(/\| 0 \| Res 0 \| `res0` \| R \|/);
    writeFileSync(join(out, 'keep.ts'), 'export const mine = 1;\n');
    const r = await runCli([f1, '--out', out]);
    expect(r.out).toMatch(/1 removed/);
    expect(existsSync(join(out, 'two.ts'))).toBe(false);
    expect(existsSync(join(out, 'keep.ts'))).toBe(true);
  });

  it('escapes hostile XML text so it can never become code', async () => {
    const hostile = 'x */ evil(); /* ` ${process.exit(1)} " \' \u2028 \\n @param';
    const f = t.write('hostile/h.xml', ddf({
      name: `Evil */ Object`,
      items: [item({ id: 0, name: hostile.replace(/[<>&]/g, ''), ops: 'RW', type: 'String', units: hostile, description: hostile })],
    }));
    const out = join(t.dir, 'hostile-out');
    expect((await runCli([f, '--out', out])).code).toBe(0);
    const code = readFileSync(join(out, 'evil-object.ts'), 'utf8');
    // In comments the terminator is broken up; in string literals it is harmless text.
    expect(code.split('\n').filter((l) => /^\s*(\/\*\*|\*|\/\/)/.test(l) && l.includes('*/ evil'))).toEqual([]);
    expect(typeCheck([join(out, 'evil-object.ts')])).toEqual([]);
    const mod = (await import(join(out, 'evil-object.ts'))) as { EvilObject: { resources: Array<{ units: string }> } };
    expect(mod.EvilObject.resources[0]!.units).toBe(hostile);
  }, 60_000);
});

describe('lwm2m-gen sub-commands through the main CLI', () => {
  const versions = join(process.cwd(), 'test', 'fixtures', 'versions');
  it('diff classifies a version pair and exits 1 on a breaking change', async () => {
    const r = await runCli(['diff', join(versions, 'device', '1.1'), join(versions, 'device', '1.2')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Error Code \(11\): range widened 0\.\.8 → 0\.\.32 \[resource-range\]/);
    expect(r.out).toMatch(/breaking-device\+breaking-server: .*Battery Level/);
    const ok = await runCli(['diff', join(versions, 'firmware-update', '1.0'), join(versions, 'firmware-update', '1.1')]);
    expect(ok.code).toBe(0);
  });
});
