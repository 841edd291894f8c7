#!/usr/bin/env node
// Copies the LwM2M Server object's model from generated/ (the generator's output for registry/1-lwm2m-server.xml) into runtime/.
//
// The runtime owns the Server object (/1) but must not import generated code, so it keeps this copy; the
// registry's DDF stays the one source. `node scripts/runtime-models.mjs` rewrites the copy, `--check` exits 1 when
// it is stale (test/runtime/client/server-object.test.ts fails then too, so CI catches a forgotten copy).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = 'generated/lwm2m-server.ts';
const TARGET = 'runtime/client/server-model.ts';

/** The runtime file for the generated module's text. */
export function serverModelSource(generated) {
  const start = generated.indexOf('export const LwM2MServer = defineObject({');
  const end = generated.indexOf('\n});\n', start);
  if (start < 0 || end < 0) throw new Error(`${SOURCE}: no LwM2MServer model constant found`);
  const body = generated.slice(start, end + 4).replace('export const LwM2MServer =', 'export const SERVER_MODEL =');
  return [
    "// The LwM2M Server object's model (/1), copied from generated/ by scripts/runtime-models.mjs: the runtime's Server object is built on it.",
    '// Do not edit: change registry/1-lwm2m-server.xml, run lwm2m-gen, then `node scripts/runtime-models.mjs`.',
    "import { defineObject } from '../model.js';",
    '',
    body,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const want = serverModelSource(readFileSync(`${root}/${SOURCE}`, 'utf8'));
  let have = '';
  try { have = readFileSync(`${root}/${TARGET}`, 'utf8'); } catch { /* first run */ }
  if (process.argv.includes('--check')) {
    if (have !== want) {
      console.error(`${TARGET} is out of date: run node scripts/runtime-models.mjs`);
      process.exit(1);
    }
  } else if (have !== want) {
    writeFileSync(`${root}/${TARGET}`, want);
    console.log(`wrote ${TARGET}`);
  }
}
