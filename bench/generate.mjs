// bench/generate: generating all 327 OMA registry objects in one run, against the floor of a Node process that
// only reads and parses the same files with fast-xml-parser; and `lwm2m-gen --version` against `node -e 0`.
// All run as fresh processes, interleaved, same run; both ratios are printed side by side, in wall and in CPU time.
// Usage: npm run build && node bench/generate.mjs [runs=15]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const corpus = process.env.LWM2M_CORPUS ?? join(process.cwd(), '..', 'shared', 'oma-registry', 'current');
const files = readdirSync(corpus).filter((f) => f.endsWith('.xml')).map((f) => join(corpus, f)).sort();
const runs = Number(process.argv[2] ?? 15);
// Output goes where a project keeps its generated code, inside the project (.tmp/ is ignored by git): the system's
// temporary folder can be far slower at creating files (on this machine /tmp pays ~0.4 ms per new file, the
// project's disk ~0.1 ms), which would measure the folder rather than the generator.
mkdirSync(join(process.cwd(), '.tmp'), { recursive: true });
const out = mkdtempSync(join(process.cwd(), '.tmp', 'bench-generate-'));

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

// Every child reports its own CPU time (user + system, all threads, from its first module on) as its last stderr
// line: on a machine shared with other work, wall time measures the neighbours too; CPU time much less so.
const CPU_REPORT = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\nbench-cpu '+((u.user+u.system)/1000)+'\\n')})`;
const cpu = [];
function time(cmd, args, cpuInto) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, ['--import', CPU_REPORT, ...args], { stdio: ['ignore', 'ignore', 'pipe'], cwd: process.cwd(), encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /bench-cpu ([\d.]+)\n$/.exec(r.stderr);
  if (cpuInto && m) cpuInto.push(Number(m[1]));
  return wall;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const gen = [];
const floor = [];
const floorWrite = [];
const version = [];
const bare = [];
const cpuOf = { gen: [], floor: [], version: [], bare: [] };
// One warm-up of each so the file cache is equally warm for both.
time(process.execPath, ['--input-type=module', '-e', floorScript, ...files]);
time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet']);
const outBytes = readdirSync(out).reduce((n, f) => n + statSync(join(out, f)).size, 0);
const perFile = Math.round(outBytes / (files.length + 1));
const out2 = `${out}-w`;
for (let i = 0; i < runs; i++) {
  floorWrite.push(time(process.execPath, ['--input-type=module', '-e', writeScript, out2, String(perFile), ...files]));
  floor.push(time(process.execPath, ['--input-type=module', '-e', floorScript, ...files], cpuOf.floor));
  rmSync(out, { recursive: true, force: true });
  gen.push(time(process.execPath, ['bin/lwm2m-gen.js', ...files, '--out', out, '--quiet'], cpuOf.gen));
  bare.push(time(process.execPath, ['-e', '0'], cpuOf.bare));
  version.push(time(process.execPath, ['bin/lwm2m-gen.js', '--version'], cpuOf.version));
}
rmSync(out, { recursive: true, force: true });
rmSync(out2, { recursive: true, force: true });
const g = median(gen);
const fw = median(floorWrite);
const f = median(floor);
console.log(`bench/generate: ${files.length} DDF files, ${runs} runs each, median wall time of a fresh process`);
console.log(`  floor (node + fast-xml-parser parse only): ${f.toFixed(1)} ms`);
console.log(`  lwm2m-gen (parse, validate, name, emit, write ${files.length + 1} files): ${g.toFixed(1)} ms`);
const v = median(version);
const b = median(bare);
console.log(`  lwm2m-gen --version: ${v.toFixed(1)} ms; node -e 0: ${b.toFixed(1)} ms`);
console.log(`  ratios: registry ${(g / f).toFixed(2)}x the parse floor (target <= 1.5x, aim 1.2x) | --version ${(v / b).toFixed(2)}x node -e 0 (target <= 1.5x)`);
const c = Object.fromEntries(Object.entries(cpuOf).map(([k, xs]) => [k, median(xs)]));
console.log(`  CPU time (median): floor ${c.floor.toFixed(1)} ms, lwm2m-gen ${c.gen.toFixed(1)} ms, --version ${c.version.toFixed(1)} ms, node -e 0 ${c.bare.toFixed(1)} ms`);
console.log(`  CPU ratios: registry ${(c.gen / c.floor).toFixed(2)}x the parse floor | --version ${(c.version / c.bare).toFixed(2)}x node -e 0`);
console.log(`  reference: parse + create ${files.length + 1} files of ${perFile} bytes: ${fw.toFixed(1)} ms; lwm2m-gen / that: ${(g / fw).toFixed(2)}x`);
console.log(`  per object: ${(g / files.length).toFixed(2)} ms (Anjay's stub generator: about 170 ms per object)`);
