// Side by side: bench/fleet-profile.mjs (memory of one fleet device, part by part) on an earlier commit and on this tree.
// Run: node bench/fleet-compare.mjs [REV] [N]   (REV default 19f8819, the tree before the fleet's memory work; N 5000).
// The earlier tree is unpacked with `git archive` into a temporary folder beside this one's node_modules, and measured
// with this tree's profile script, so both run the same measurement on their own runtime.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './lib.mjs';

const rev = process.argv[2] ?? '19f8819';
const n = process.argv[3] ?? '5000';
const dir = mkdtempSync(join(tmpdir(), 'fleet-compare-'));
try {
  const archive = execFileSync('git', ['-C', root, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  for (const f of ['bench/fleet-profile.mjs', 'bench/lib.mjs']) cpSync(join(root, f), join(dir, f));
  const profile = (cwd) => {
    const r = spawnSync('bash', ['-c', `ulimit -n "$(ulimit -Hn)"; exec node --expose-gc bench/fleet-profile.mjs ${n} --json`], { cwd, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`profile in ${cwd} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const before = profile(dir);
  const after = profile(root);
  const kb = (b) => (b / 1024).toFixed(2).padStart(7);
  const ratio = (a, b) => (a > 0.05 * 1024 ? `${(b / a).toFixed(2)}x` : '').padStart(6);
  console.log(`bench/fleet-compare: ${n} copies of each part, ${rev} (before) and this tree (after); KB per copy`);
  console.log(`  ${'part'.padEnd(36)} ${'heap before'.padStart(11)} ${'after'.padStart(7)} ${''.padStart(6)}   ${'RSS before'.padStart(10)} ${'after'.padStart(7)}`);
  const sum = { hb: 0, ha: 0, rb: 0, ra: 0 };
  for (const a of after.rows) {
    const b = before.rows.find((r) => r.label === a.label) ?? { heap: 0, rss: 0 };
    if (a.label !== 'node:dgram socket (bound)') {
      sum.hb += b.heap; sum.ha += a.heap; sum.rb += b.rss; sum.ra += a.rss;
    }
    console.log(`  ${a.label.padEnd(36)} ${kb(b.heap).padStart(11)} ${kb(a.heap)} ${ratio(b.heap, a.heap)}   ${kb(b.rss).padStart(10)} ${kb(a.rss)}`);
  }
  console.log(`  ${'a device (all but the bare socket)'.padEnd(36)} ${kb(sum.hb).padStart(11)} ${kb(sum.ha)} ${ratio(sum.hb, sum.ha)}   ${kb(sum.rb).padStart(10)} ${kb(sum.ra)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
