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
    expect(r.out).toMatch(/^lwm2m-gen: 5 objects, 85 resources, 6 files \(6 written, 0 unchanged\), 0 warnings, \d+ ms\n$/);
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
    expect((await runCli(['-v'])).out.trim()).toBe(pkg.version);
  });

  it('--help wraps at word boundaries, within 100 columns', async () => {
    const h = await runCli(['--help']);
    const lines = h.out.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    // Every word of the help is a whole word of the option and example texts: nothing split mid-word.
    const words = new Set(h.out.split(/\s+/));
    for (const w of ['current', 'output', 'generated', 'lwm2m-gen/runtime)', 'whom']) expect(words.has(w) || words.has(`${w}.`)).toBe(true);
    expect(h.out).toMatch(/lwm2m-gen diff OLD NEW/);
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
    writeFileSync(join(out, 'notes.txt'), 'not a kind of file the generator writes\n');
    const r = await runCli([f1, '--out', out]);
    expect(r.out).toMatch(/1 removed/);
    expect(existsSync(join(out, 'two.ts'))).toBe(false);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toMatch(/^not a kind/);
  });

  it('a hand-written .ts or .md file in an output folder: exit 1 naming every one, every file untouched', async () => {
    const out = join(t.dir, 'foreign', 'out');
    const docs = join(t.dir, 'foreign', 'docs');
    const f1 = t.write('foreign/one.xml', ddf({ id: 26250, name: 'One' }));
    const f2 = t.write('foreign/two.xml', ddf({ id: 26251, name: 'Two' }));
    expect((await runCli([f1, '--out', out, '--docs', docs])).code).toBe(0);
    writeFileSync(join(out, 'mine.ts'), 'export const mine = 1;\n');
    writeFileSync(join(docs, 'README.md'), '# My own readme\n');
    const before = { out: snapshot(out), docs: snapshot(docs) };
    for (const extra of [[], ['--check']]) {
      const r = await runCli([f1, f2, '--out', out, '--docs', docs, ...extra]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`${join(out, 'mine.ts')}: not written by lwm2m-gen`);
      expect(r.err).toContain(`${join(docs, 'README.md')}: not written by lwm2m-gen`);
      expect(r.out).toMatch(/2 files in the output not written by lwm2m-gen; nothing written/);
      expect({ out: snapshot(out), docs: snapshot(docs) }).toEqual(before);
    }
    // A generated file that was edited by hand keeps the header, so it is regenerated (that is what the header says).
    writeFileSync(join(out, 'mine.ts'), '// Generated by lwm2m-gen 0.0.0 from x.xml.\n');
    writeFileSync(join(docs, 'README.md'), '<!-- Generated by lwm2m-gen 0.0.0 -->\n');
    const ok = await runCli([f1, f2, '--out', out, '--docs', docs]);
    expect(ok.code).toBe(0);
    expect(existsSync(join(out, 'mine.ts'))).toBe(false);
    expect(readFileSync(join(docs, 'README.md'), 'utf8')).toMatch(/^<!-- Generated by lwm2m-gen .*\n# Object reference\n\n- \[One \(\/26250\)\]\(one\.md\)\n/);
  });

  it('--docs and --out need a folder: exit 2, nothing written, a README.md in the current folder untouched', async () => {
    const project = join(t.dir, 'project');
    const readme = t.write('project/README.md', '# The project\n');
    const f = t.write('project/obj.xml', ddf());
    const cwd = process.cwd();
    process.chdir(project);
    try {
      for (const args of [[f, '--docs'], [f, '--docs', ''], ['--docs', f], [f, '--docs', '--strict'], [f, '--out'], [f, '--out', ''], [f, '-o', '--check'], [f, '--out=']]) {
        const r = await runCli(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.err).toMatch(/--(docs|out) needs a folder/);
      }
      expect(readFileSync(readme, 'utf8')).toBe('# The project\n');
      expect(readdirSync(project).sort()).toEqual(['README.md', 'obj.xml']);
      // Given the current folder explicitly, the project's README.md is foreign: exit 1, byte-identical.
      const r = await runCli([f, '--docs', '.', '--out', 'gen']);
      expect(r.code).toBe(1);
      expect(readFileSync(readme, 'utf8')).toBe('# The project\n');
    } finally {
      process.chdir(cwd);
    }
  });

  it('an input that yields no definition is exit 1: empty folder, unmatched glob, a file without <Object>', async () => {
    const empty = join(t.dir, 'empty-in');
    t.write('empty-in/readme.txt', 'no xml here');
    const out = join(t.dir, 'empty-out');
    const a = await runCli([empty, '--out', out]);
    expect(a.code).toBe(1);
    expect(a.err).toContain(`${empty}:1:1: error: no object definitions in ${empty} (the folder has no .xml file) [input-empty]`);
    const b = await runCli([join(empty, '*.xml'), '--out', out]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/no object definitions in .*\*\.xml \(the pattern matched no file\)/);
    const none = t.write('empty-in2/none.xml', '<?xml version="1.0"?>\n<LWM2M></LWM2M>\n');
    const c = await runCli([none, '--out', out]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/holds no <Object>/);
    expect(existsSync(out)).toBe(false);
  });

  it('one folder for --out and --docs: code and docs live together, nothing is taken for stale', async () => {
    const both = join(t.dir, 'both');
    const f = t.write('both/src/obj.xml', ddf());
    expect((await runCli([f, '--out', both, '--docs', both])).code).toBe(0);
    const again = await runCli([f, '--out', both, '--docs', both]);
    expect(again.out).toMatch(/\(0 written, 4 unchanged\)/);
    expect(readdirSync(both).sort()).toEqual(['README.md', 'index.ts', 'src', 'test-object.md', 'test-object.ts']);
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
