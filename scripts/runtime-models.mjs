#!/usr/bin/env node
// Copies the models of the objects the runtime owns (Security /0, Server /1) from generated/ into runtime/client/.
//
// The runtime owns the Security and Server objects but must not import generated code, so it keeps these copies; the
// registry's DDFs stay the one source. `node scripts/runtime-models.mjs` rewrites the copies, `--check` exits 1 when
// one is stale (test/scripts/runtime-models.test.ts runs it, so CI catches a forgotten copy).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Each copy: the generated module (issue 10 renames lw-m2m-*.ts to lwm2m-*.ts; either name is read), its constant, ours. */
export const RUNTIME_MODELS = [
  {
    sources: ['generated/lwm2m-security.ts', 'generated/lw-m2m-security.ts'], constant: 'LwM2MSecurity', as: 'SECURITY_MODEL',
    target: 'runtime/client/security-model.ts', ddf: 'registry/0-lwm2m-security.xml',
    what: "The LwM2M Security object's model (/0), copied from generated/ by scripts/runtime-models.mjs: the runtime's Security object is built on it.",
  },
  {
    sources: ['generated/lwm2m-server.ts', 'generated/lw-m2m-server.ts'], constant: 'LwM2MServer', as: 'SERVER_MODEL',
    target: 'runtime/client/server-model.ts', ddf: 'registry/1-lwm2m-server.xml',
    what: "The LwM2M Server object's model (/1), copied from generated/ by scripts/runtime-models.mjs: the runtime's Server object is built on it.",
  },
];

function sourceOf(model) {
  return model.sources.find((f) => existsSync(`${root}/${f}`)) ?? model.sources[0];
}

/** The runtime file for one model, from the generated module's text. */
export function runtimeModelSource(model, generated) {
  const start = generated.indexOf(`export const ${model.constant} = defineObject({`);
  const end = generated.indexOf('\n});\n', start);
  if (start < 0 || end < 0) throw new Error(`${sourceOf(model)}: no ${model.constant} model constant found`);
  const body = generated.slice(start, end + 4).replace(`export const ${model.constant} =`, `export const ${model.as} =`);
  return [
    `// ${model.what}`,
    `// Do not edit: change ${model.ddf}, run lwm2m-gen, then \`node scripts/runtime-models.mjs\`.`,
    "import { defineObject } from '../model.js';",
    '',
    body,
    '',
  ].join('\n');
}

/** Kept for callers of the single-model version. */
export function serverModelSource(generated) {
  return runtimeModelSource(RUNTIME_MODELS[1], generated);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const model of RUNTIME_MODELS) {
    const want = runtimeModelSource(model, readFileSync(`${root}/${sourceOf(model)}`, 'utf8'));
    let have = '';
    try { have = readFileSync(`${root}/${model.target}`, 'utf8'); } catch { /* first run */ }
    if (have === want) continue;
    if (check) {
      console.error(`${model.target} is out of date: run node scripts/runtime-models.mjs`);
      stale++;
    } else {
      writeFileSync(`${root}/${model.target}`, want);
      console.log(`wrote ${model.target}`);
    }
  }
  if (stale > 0) process.exit(1);
}
