// Side by side: bench/fleet-profile.mjs (memory of one fleet device, part by part) on an earlier commit and on this tree,
// or with --fleet the UDP run of bench/fleet.sh in one process (same command, same N) on both.
// Run: node bench/fleet-compare.mjs [REV] [N]           (REV default 19f8819, the tree before the fleet's memory work; N 5000)
//      node bench/fleet-compare.mjs --fleet [REV] [N]   (N default 19800: one process under a 20,000-file limit)
// The earlier tree is unpacked with `git archive` into a temporary folder beside this one's node_modules, and measured
// with this tree's profile script, so both run the same measurement on their own runtime.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './lib.mjs';

const args = process.argv.slice(2);
const fleetMode = args[0] === '--fleet';
if (fleetMode) args.shift();
const rev = args[0] ?? '19f8819';
const n = args[1] ?? (fleetMode ? '19800' : '5000');
const dir = mkdtempSync(join(tmpdir(), 'fleet-compare-'));
try {
  const archive = execFileSync('git', ['-C', root, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  for (const f of ['bench/fleet-profile.mjs', 'bench/lib.mjs', 'bench/fleet.mjs', 'bench/fleet.sh']) cpSync(join(root, f), join(dir, f));
  if (fleetMode) {
    compareFleets(dir);
  } else {
    compareProfiles(dir);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** bench/fleet.sh's UDP run in one process on both trees; prints both tables and the ratios of the totals. */
function compareFleets(dir) {
  const run = (cwd) => {
    const r = spawnSync('bash', ['bench/fleet.sh'], {
      cwd, encoding: 'utf8', env: { ...process.env, FLEET_PROCESSES: '1', FLEET_UDP: n, FLEET_DTLS: '0' },
    });
    if (r.status !== 0) throw new Error(`bench/fleet.sh in ${cwd} failed: ${r.stderr}`);
    return r.stdout;
  };
  const rowOf = (out) => {
    const m = /^\s+udp-1\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/m.exec(out);
    if (!m) throw new Error(`no figures in:\n${out}`);
    return { registered: Number(m[2]), seconds: Number(m[3]), rss: Number(m[4]), heap: Number(m[5]), committed: Number(m[6]) };
  };
  const before = rowOf(run(dir));
  const after = rowOf(run(root));
  console.log(`bench/fleet-compare --fleet: bench/fleet.sh, ${n} UDP devices in one process, ${rev} (before) and this tree (after)`);
  console.log(`  ${''.padEnd(28)} ${'before'.padStart(8)} ${'after'.padStart(8)} ${'after/before'.padStart(12)}`);
  for (const [label, key] of [['registered', 'registered'], ['storm, s', 'seconds'], ['RSS KB per device', 'rss'], ['heap used KB per device', 'heap'], ['heap committed KB per device', 'committed']]) {
    console.log(`  ${label.padEnd(28)} ${String(before[key]).padStart(8)} ${String(after[key]).padStart(8)} ${(after[key] / before[key]).toFixed(2).padStart(12)}`);
  }
}

function compareProfiles(dir) {
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
}
