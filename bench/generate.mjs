// bench/generate: generating all 327 OMA registry objects in one run, against the floor of a Node process that
// only reads and parses the same files with fast-xml-parser. Both run as fresh processes, interleaved, same run.
// Usage: npm run build && node bench/generate.mjs [runs=15]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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

// A second reference: the same parse, plus creating as many files of the generator's output size, so the cost
// of the file system (which the floor does not pay) is visible on its own.
const writeScript = `
import { XMLParser } from 'fast-xml-parser';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
const [out, bytes, ...files] = process.argv.slice(1);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const parser = new XMLParser();
const data = 'x'.repeat(Number(bytes));
files.forEach((f, i) => { parser.parse(readFileSync(f, 'utf8')); writeFileSync(out + '/' + i + '.ts', data); });
writeFileSync(out + '/index.ts', data);
`;

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: process.cwd() });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const gen = [];
const floor = [];
const floorWrite = [];
// One warm-up of each so the file cache is equally warm for both.
time(process.execPath, ['--input-type=module', '-e', floorScript, ...files]);
time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet']);
const outBytes = readdirSync(out).reduce((n, f) => n + statSync(join(out, f)).size, 0);
const perFile = Math.round(outBytes / (files.length + 1));
const out2 = `${out}-w`;
for (let i = 0; i < runs; i++) {
  floorWrite.push(time(process.execPath, ['--input-type=module', '-e', writeScript, out2, String(perFile), ...files]));
  floor.push(time(process.execPath, ['--input-type=module', '-e', floorScript, ...files]));
  rmSync(out, { recursive: true, force: true });
  gen.push(time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet']));
}
rmSync(out, { recursive: true, force: true });
rmSync(out2, { recursive: true, force: true });
const g = median(gen);
const fw = median(floorWrite);
const f = median(floor);
console.log(`bench/generate: ${files.length} DDF files, ${runs} runs each, median wall time of a fresh process`);
console.log(`  floor (node + fast-xml-parser parse only): ${f.toFixed(1)} ms`);
console.log(`  lwm2m-gen (parse, validate, name, emit, write ${files.length + 1} files): ${g.toFixed(1)} ms`);
console.log(`  ratio: ${(g / f).toFixed(2)}x  (target <= 1.5x, aim 1.2x)`);
console.log(`  reference: parse + create ${files.length + 1} files of ${perFile} bytes: ${fw.toFixed(1)} ms; lwm2m-gen / that: ${(g / fw).toFixed(2)}x`);
console.log(`  per object: ${(g / files.length).toFixed(2)} ms (Anjay's stub generator: about 170 ms per object)`);
