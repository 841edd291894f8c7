// What the benchmarks share: loading the project's TypeScript sources without a build (transpiled, no type check).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Transpiles the given sources (paths from the repository root) and every file they import relatively, imports
 * them and returns their modules in the same order. Type checking is left to `npm run lint`. The files go under
 * node_modules/.cache so that bare imports (coap-packet, cbor-x, node-dtls-client) resolve from the project, and
 * the folder is removed once the modules are loaded.
 */
export async function importSources(...files) {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const out = mkdtempSync(join(root, 'node_modules', '.cache', 'lwm2m-bench-'));
  const seen = new Set();
  const transpile = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
    for (const m of src.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) transpile(resolve(dirname(file), `${m[1]}.ts`));
  };
  try {
    for (const file of files) transpile(join(root, file));
    const modules = [];
    for (const file of files) modules.push(await import(pathToFileURL(join(out, file.replace(/\.ts$/, '.js'))).href));
    return modules;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
