// Benchmark of the notify scheduler: 100 000 observations of 1 000 clients in one process, on the real timer.
// Run: node --expose-gc bench/notify.mjs   (re-spawns itself with --expose-gc when needed)
// Prints memory per observation, CPU per notification, lateness p50/p99, and a side-by-side ratio with
// the naive design (one setTimeout per observation).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { importSources } from './lib.mjs';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const CLIENTS = 1000;
const PER_CLIENT = 100;
const TOTAL = CLIENTS * PER_CLIENT;
const RUN_MS = Number(process.env.NOTIFY_BENCH_MS ?? 12_000);
const CMP_MS = Number(process.env.NOTIFY_BENCH_CMP_MS ?? 8_000);

const [notify] = await importSources('runtime/notify/index.ts');
const { NotifyScheduler, ObservationRegistry, ManualSchedulerClock, systemSchedulerClock } = notify;

// ---- helpers ----
let seed = 12345;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
}
function token(i) {
  const t = new Uint8Array(8);
  for (let k = 0; k < 8; k++) t[k] = (i * 2654435761 + k * 97) >>> (k % 4 * 8);
  return t;
}
function heapUsed() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}
function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, d = 1) => n.toFixed(d);

/** The per-client things a real client would have: its peer, its values, one handlers object for all its observations. */
function makeClient(c, attributes, onSend) {
  const peer = { address: `10.0.${c >> 8}.${c & 255}`, port: 5683 };
  const values = new Float64Array(PER_CLIENT);
  const handlers = {
    read: (o) => values[o.path.instanceId],
    attributes: () => attributes,
    send: onSend,
  };
  return { peer, values, handlers };
}

// ---- 1. memory per observation ----
function memoryScheduler() {
  const clients = [];
  const before = heapUsed();
  // A clock reading like a process that has run a while, so times are doubles as they are in production.
  const scheduler = new NotifyScheduler(new ManualSchedulerClock(86_400_123.456));
  for (let c = 0; c < CLIENTS; c++) {
    const registry = new ObservationRegistry(scheduler);
    const client = makeClient(c, { pmin: 1, pmax: 1 + (c % 5) }, () => 'sent');
    for (let i = 0; i < PER_CLIENT; i++) {
      registry.add(
        { peer: { address: client.peer.address, port: 5683 }, token: token(c * PER_CLIENT + i), path: { objectId: 3303, instanceId: i, resourceId: 5700 }, confirmable: false },
        client.handlers,
        0,
      );
    }
    clients.push({ registry, client });
  }
  const after = heapUsed();
  const perObs = (after - before) / TOTAL;
  if (scheduler.size !== TOTAL || scheduler.queued !== TOTAL) throw new Error('memory setup is wrong');
  clients.length = 0;
  return perObs;
}

function memoryNaive() {
  const clients = [];
  const before = heapUsed();
  for (let c = 0; c < CLIENTS; c++) {
    const byToken = new Map();
    const client = makeClient(c, {}, () => 'sent');
    for (let i = 0; i < PER_CLIENT; i++) {
      const t = token(c * PER_CLIENT + i);
      const o = { peer: client.peer, path: { objectId: 3303, instanceId: i, resourceId: 5700 }, token: t, seq: 0, last: 0, timer: undefined };
      o.timer = setTimeout(() => undefined, 3_600_000);
      byToken.set(Buffer.from(t).toString('hex'), o);
    }
    clients.push(byToken);
  }
  const after = heapUsed();
  for (const m of clients) for (const o of m.values()) clearTimeout(o.timer);
  return (after - before) / TOTAL;
}

// ---- 2. running on the real timer ----
/**
 * Starts 1000 clients over the first ~2-3 s, two every 4 ms (as registrations would spread), each observing 100 resources
 * with pmax 1..5 s; `changesPerTick` random resources change every 10 ms. Measures lateness of every
 * notification (send time minus due time) and CPU per notification.
 */
async function runScheduler(ms, { changesPerTick, pmin }) {
  const scheduler = new NotifyScheduler(systemSchedulerClock({ ref: true }));
  const clock = scheduler.clock;
  const lateness = new Float64Array(4_000_000);
  let measured = 0;
  let steady = false;
  let sent = 0;
  const onSend = (o) => {
    // Lateness counts in steady state only: during the ramp the bench's own registration loop blocks the event loop.
    if (steady && measured < lateness.length) lateness[measured++] = clock.now() - o.dueAt;
    sent++;
    return 'sent';
  };
  const clients = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let c = 0; c < CLIENTS; c++) {
    const registry = new ObservationRegistry(scheduler);
    const client = makeClient(c, { pmin, pmax: 1 + Math.floor(random() * 5) }, onSend);
    for (let i = 0; i < PER_CLIENT; i++) {
      registry.add(
        { peer: client.peer, token: token(c * PER_CLIENT + i), path: { objectId: 3303, instanceId: i, resourceId: 5700 }, confirmable: false },
        client.handlers,
        0,
      );
    }
    clients.push({ registry, client });
    if (c % 2 === 1) await sleep(4);
  }
  let changes = 0;
  steady = true;
  // How long the event loop itself stalls (GC, other processes on the machine): every timer in the
  // process is at least this late, whoever schedules it.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  while (performance.now() - start < ms) {
    for (let k = 0; k < changesPerTick; k++) {
      const c = clients[Math.floor(random() * CLIENTS)];
      const i = Math.floor(random() * PER_CLIENT);
      c.client.values[i] += 1;
      c.registry.changed(3303, i, 5700);
      changes++;
    }
    await sleep(10);
  }
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  for (const { registry } of clients) registry.cancelAll();
  const l = lateness.subarray(0, measured).sort();
  return {
    sent,
    changes,
    cpuPerNotificationUs: (cpu.user + cpu.system) / sent,
    p50: percentile(l, 0.5),
    p99: percentile(l, 0.99),
    max: l[l.length - 1],
    loopP99: loop.percentile(99) / 1e6,
  };
}

/** The naive design for comparison: one setTimeout per observation, re-armed after each pmax notification. */
async function runNaive(ms) {
  const lateness = new Float64Array(4_000_000);
  let measured = 0;
  let steady = false;
  let sent = 0;
  const all = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let c = 0; c < CLIENTS; c++) {
    const client = makeClient(c, {}, undefined);
    const pmax = (1 + Math.floor(random() * 5)) * 1000;
    for (let i = 0; i < PER_CLIENT; i++) {
      const o = { path: { objectId: 3303, instanceId: i, resourceId: 5700 }, seq: 0, due: 0, timer: undefined, last: 0 };
      const fire = () => {
        if (steady && measured < lateness.length) lateness[measured++] = performance.now() - o.due;
        o.last = client.values[i];
        o.seq = (o.seq + 1) & 0xffffff;
        sent++;
        o.due = performance.now() + pmax;
        o.timer = setTimeout(fire, pmax);
      };
      o.due = performance.now() + pmax;
      o.timer = setTimeout(fire, pmax);
      all.push(o);
    }
    if (c % 2 === 1) await sleep(4);
  }
  steady = true;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  while (performance.now() - start < ms) await sleep(10);
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  for (const o of all) clearTimeout(o.timer);
  const l = lateness.subarray(0, measured).sort();
  return { sent, cpuPerNotificationUs: (cpu.user + cpu.system) / sent, p50: percentile(l, 0.5), p99: percentile(l, 0.99), max: l[l.length - 1], loopP99: loop.percentile(99) / 1e6 };
}

const t0 = performance.now();
console.log(`notify bench: ${TOTAL} observations, ${CLIENTS} clients, node ${process.version}, load average ${loadavg()[0].toFixed(1)} on this machine`);
const memSched = memoryScheduler();
const memNaive = memoryNaive();
console.log(`memory per observation: scheduler ${fmt(memSched)} B (observation with its packed token, registry indexes, heap slot, path), naive setTimeout ${fmt(memNaive)} B; target < 300 B`);

const a = await runScheduler(RUN_MS, { changesPerTick: 200, pmin: 1 });
console.log(
  `scheduler, pmin 1 s, pmax 1..5 s, 20 000 changes/s, ${RUN_MS / 1000} s: ${a.sent} notifications, ${a.changes} changes; ` +
    `CPU ${fmt(a.cpuPerNotificationUs, 2)} µs/notification; lateness p50 ${fmt(a.p50, 2)} ms, p99 ${fmt(a.p99, 2)} ms, max ${fmt(a.max, 2)} ms ` +
    `(event-loop delay p99 ${fmt(a.loopP99, 2)} ms); target p99 < 10 ms`,
);
const b = await runScheduler(CMP_MS, { changesPerTick: 0, pmin: 0 });
const n = await runNaive(CMP_MS);
console.log(`pmax only, ${CMP_MS / 1000} s each:`);
console.log('                      scheduler      naive   ratio (scheduler/naive)');
const row = (name, x, y, d = 2) => console.log(`  ${name.padEnd(18)} ${fmt(x, d).padStart(10)} ${fmt(y, d).padStart(10)}   ${fmt(x / y, 2)}`);
row('bytes/observation', memSched, memNaive, 1);
row('µs CPU/notify', b.cpuPerNotificationUs, n.cpuPerNotificationUs);
row('lateness p50 ms', b.p50, n.p50);
row('lateness p99 ms', b.p99, n.p99);
row('loop delay p99 ms', b.loopP99, n.loopP99);
row('notifications', b.sent, n.sent, 0);
const ok = memSched < 300 && a.p99 < 10;
console.log(`targets ${ok ? 'met' : 'NOT met'} (memory ${fmt(memSched)} < 300 B, p99 ${fmt(a.p99, 2)} < 10 ms); total ${fmt((performance.now() - t0) / 1000)} s`);
