// bench/generate: generating all 327 OMA registry objects in one run, against the floor of a Node process that
// only reads and parses the same files with fast-xml-parser. Both run as fresh processes, interleaved, same run.
// Usage: npm run build && node bench/generate.mjs [runs=15]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const corpus = process.env.LWM2M_CORPUS ?? join(process.cwd(), '..', 'shared', 'oma-registry', 'current');
const files = readdirSync(corpus).filter((f) => f.endsWith('.xml')).map((f) => join(corpus, f)).sort();
const runs = Number(process.argv[2] ?? 15);
const out = mkdtempSync(join(tmpdir(), 'lwm2m-bench-'));

const floorScript = `
import { XMLParser } from 'fast-xml-parser';
import { readFileSync } from 'node:fs';
const parser = new XMLParser();
let n = 0;
for (const f of process.argv.slice(1)) { parser.parse(readFileSync(f, 'utf8')); n++; }
if (n !== ${files.length}) process.exit(1);
`;

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: process.cwd() });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const gen = [];
const floor = [];
// One warm-up of each so the file cache is equally warm for both.
time(process.execPath, ['--input-type=module', '-e', floorScript, ...files]);
time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet']);
for (let i = 0; i < runs; i++) {
  floor.push(time(process.execPath, ['--input-type=module', '-e', floorScript, ...files]));
  rmSync(out, { recursive: true, force: true });
  gen.push(time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet']));
}
rmSync(out, { recursive: true, force: true });
const g = median(gen);
const f = median(floor);
console.log(`bench/generate: ${files.length} DDF files, ${runs} runs each, median wall time of a fresh process`);
console.log(`  floor (node + fast-xml-parser parse only): ${f.toFixed(1)} ms`);
console.log(`  lwm2m-gen (parse, validate, name, emit, write ${files.length + 1} files): ${g.toFixed(1)} ms`);
console.log(`  ratio: ${(g / f).toFixed(2)}x  (target <= 1.5x, aim 1.2x)`);
console.log(`  per object: ${(g / files.length).toFixed(2)} ms (Anjay's stub generator: about 170 ms per object)`);
