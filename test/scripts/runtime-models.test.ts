// The runtime's copies of the Security and Server models are what scripts/runtime-models.mjs makes from generated/ now.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface RuntimeModel { sources: string[]; constant: string; target: string }
interface ScriptModule {
  RUNTIME_MODELS: RuntimeModel[];
  runtimeModelSource(model: RuntimeModel, generated: string): string;
}

describe('scripts/runtime-models.mjs', () => {
  it('every runtime copy equals what the script makes from generated/ (a stale copy fails CI here)', async () => {
    const script = (await import(`${root}/scripts/runtime-models.mjs`)) as ScriptModule;
    expect(script.RUNTIME_MODELS.map((m) => m.target).sort()).toEqual(['runtime/client/security-model.ts', 'runtime/client/server-model.ts']);
    for (const model of script.RUNTIME_MODELS) {
      const source = model.sources.find((f) => existsSync(`${root}/${f}`));
      expect(source).toBeDefined();
      const want = script.runtimeModelSource(model, readFileSync(`${root}/${source!}`, 'utf8'));
      expect(readFileSync(`${root}/${model.target}`, 'utf8')).toBe(want);
    }
  });

  it('--check exits 0 on a current tree', () => {
    expect(() => execFileSync(process.execPath, ['scripts/runtime-models.mjs', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

  it('refuses a generated module without the model constant, naming it', async () => {
    const script = (await import(`${root}/scripts/runtime-models.mjs`)) as ScriptModule;
    expect(() => script.runtimeModelSource(script.RUNTIME_MODELS[0]!, 'export const Other = 1;\n')).toThrow(/no LwM2MSecurity model constant/);
  });
});
