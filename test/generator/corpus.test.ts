// The whole OMA registry corpus generates with zero errors and the output type-checks strictly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers.js';
import { typeCheck } from './typecheck.js';

const corpus = process.env['LWM2M_CORPUS'] ?? join(process.cwd(), '..', 'shared', 'oma-registry', 'current');
const haveCorpus = existsSync(corpus);

// On a developer's machine without the corpus the suite is skipped; in CI a missing corpus is a failure, never a pass.
if (!haveCorpus && process.env['CI'] === 'true') {
  describe('the OMA registry corpus', () => {
    it('is present (CI=true)', () => {
      throw new Error(`the OMA registry corpus is missing at ${corpus}; set LWM2M_CORPUS to its folder of 327 DDF files`);
    });
  });
}

(haveCorpus ? describe : describe.skip)('the OMA registry corpus', () => {
  const t = tempDir('corpus');
  afterAll(() => t.cleanup());

  it('generates all 327 files in one run with exit 0 and no errors', async () => {
    const files = readdirSync(corpus).filter((f) => f.endsWith('.xml')).map((f) => join(corpus, f));
    expect(files).toHaveLength(327);
    const r = await runCli([...files, '--out', join(t.dir, 'out'), '--json']);
    const report = JSON.parse(r.out) as { ok: boolean; objects: number; files: number; diagnostics: Array<{ severity: string }> };
    expect(r.code).toBe(0);
    expect(report.objects).toBe(327);
    expect(report.files).toBe(328);
    expect(report.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('type-checks under strict settings with zero errors', () => {
    const out = join(t.dir, 'out');
    const files = readdirSync(out).map((f) => join(out, f));
    expect(typeCheck(files)).toEqual([]);
    // The names the issue calls out come out as expected.
    const index = readFileSync(join(out, 'index.ts'), 'utf8');
    expect(index).toContain("export * from './location.js'");
    expect(index).toContain("export * from './location-3336.js'");
  }, 120_000);

  it('catches a type error planted in generated code (the check can fail)', () => {
    const bad = t.write('bad/bad.ts', "import { DeviceBase } from '../../../../generated/device.js';\nexport class X extends DeviceBase {}\nconst n: number = 'x';\nexport { n };\n");
    expect(typeCheck([bad]).join('\n')).toMatch(/reboot|not assignable/);
  }, 120_000);
});
