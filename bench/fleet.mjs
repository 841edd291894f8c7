// Benchmark of lwm2m-gen/fleet: UDP devices (memory per device, registration storm rate, de-registration rate), in as
// many processes as the open-file limit needs, and DTLS-PSK devices against libcoap's coap-rd-gnutls (memory per
// device, handshakes with their Register per second, CPU per handshake on each side).
// Run: bench/fleet.sh   (raises the open-file limit as far as it goes, then runs this with --expose-gc). Sizes and knobs:
//   FLEET_UDP=<devices> (default 100000)         FLEET_DTLS=<devices> (default 10000)
//   FLEET_PROCESSES=<n> (default: as few as the open-file limit allows; 1 = one process, sized to the limit)
//   FLEET_ADDRESSES=<127.0.0.x source addresses per process> (default 8)
//   FLEET_STORM=<UDP devices starting at once, over all processes> (default 256)
//   FLEET_LIFETIME=<registration lifetime, s> (default 3600: no Updates during a storm that lasts minutes)
//   FLEET_DTLS_CONCURRENCY=<DTLS handshakes at once> (default 64, the fleet's default for coaps://)
//   FLEET_SETTLE_S=<seconds of quiet before each memory reading> (default 20)
// Each device holds its own socket, so one process holds at most (hard open-file limit - 200) devices: on this machine
// 20,000 files (ulimit -Hn, not raisable without CAP_SYS_RESOURCE), so 100,000 devices run in 6 processes. The bench
// prints that it is not one process whenever it splits. The servers (a registrar of the bench's own on the runtime's
// UDP endpoint; coap-rd-gnutls for DTLS) run in their own processes and are not counted.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { importSources } from './lib.mjs';

const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const UDP = env('FLEET_UDP', 100_000);
const DTLS = env('FLEET_DTLS', 10_000);
const ADDRESSES = env('FLEET_ADDRESSES', 8);
const STORM = env('FLEET_STORM', 256);
const LIFETIME = env('FLEET_LIFETIME', 3600);
const DTLS_CONCURRENCY = env('FLEET_DTLS_CONCURRENCY', 64);
const SETTLE_S = env('FLEET_SETTLE_S', 20);
const PSK_HEX = Buffer.from('fleet-bench-psk-key').toString('hex');
/** Files a worker keeps beside its devices' sockets (the fleet's own SPARE_FILES is 64; node and IPC take some). */
const SPARE = 200;
const self = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Memory after two full collections: RSS, JS heap used and committed, external and array buffers. */
function memory() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external + m.arrayBuffers };
}

const role = process.argv[2];
if (role === '--serve') {
  // ---- the UDP registration server: a registrar of the bench's own on the runtime's UDP endpoint ----
  // Register (2.01 with a location), Update (2.04, or 4.04 for an unknown location) and De-register (2.02), with the
  // registrations in maps by location and by endpoint name. Not testing's TestLwm2mServer: it finds a re-registering
  // endpoint by walking every registration, so a storm of 100,000 slows down as it fills (O(n) per Register).
  const [runtime] = await importSources('runtime/index.ts');
  const endpoint = await runtime.createUdpEndpoint({ address: '127.0.0.1' });
  const byLocation = new Map();
  const byEndpoint = new Map();
  let nextId = 1;
  endpoint.serve((req) => {
    if (req.path[0] !== 'rd') return { code: '4.04' };
    if (req.method === 'POST' && req.path.length === 1) {
      const ep = req.query.find((q) => q.startsWith('ep='))?.slice(3);
      if (!ep) return { code: '4.00' };
      const old = byEndpoint.get(ep);
      if (old !== undefined) byLocation.delete(old);
      const id = String(nextId++);
      byLocation.set(id, ep);
      byEndpoint.set(ep, id);
      return { code: '2.01', locationPath: ['rd', id] };
    }
    const ep = req.path.length === 2 ? byLocation.get(req.path[1]) : undefined;
    if (ep === undefined) return { code: '4.04' };
    if (req.method === 'POST') return { code: '2.04' };
    if (req.method === 'DELETE') {
      byLocation.delete(req.path[1]);
      byEndpoint.delete(ep);
      return { code: '2.02' };
    }
    return { code: '4.05' };
  });
  process.stdout.write(`PORT ${endpoint.address().port}\n`);
  process.on('message', async (m) => {
    if (m === 'count') process.send?.({ type: 'count', registrations: byLocation.size });
    if (m === 'close') {
      await endpoint.close();
      process.exit(0);
    }
  });
} else if (role === '--worker') {
  // ---- one fleet process: baseline, storm, settle, report; stop (de-register) or exit when told ----
  if (typeof globalThis.gc !== 'function') throw new Error('workers run with --expose-gc');
  const cfg = JSON.parse(process.env.FLEET_WORKER);
  const [fleetModule, device] = await importSources('fleet/index.ts', 'generated/device.ts');
  // A warm-up fleet of a few devices (registered, then de-registered) runs every code path once, so the baseline is
  // read in the same settled state as the figures: loaded, compiled, and after V8's memory reducer has run.
  const warm = new fleetModule.Fleet({ objects: [device.Device], ...cfg.options, devices: 16, firstIndex: 10_000_000 + cfg.index * 16 });
  await warm.start();
  await warm.waitRegistered(1, 60_000);
  // coap-rd-gnutls 4.3.1 crashes on DELETE: the DTLS warm-up devices stay registered (in the baseline and after).
  if (!cfg.keepWarm) await warm.stop();
  await sleep(SETTLE_S * 1000);
  const before = memory();
  process.send({ type: 'ready' });
  await new Promise((r) => process.once('message', r));
  if (cfg.control) {
    // The control process: the same warm-up, no fleet; its memory is the baseline of every process's figures.
    process.on('message', (m) => {
      if (m === 'measure') process.send({ type: 'measured', memory: memory() });
      if (m === 'exit') process.exit(0);
    });
    await new Promise(() => undefined);
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fleet = new fleetModule.Fleet({ objects: [device.Device], closeTimeoutMs: 5000, lifetime: LIFETIME, ...cfg.options });
  const progress = setInterval(() => process.send({ type: 'progress', ...fleet.snapshot() }), 30_000);
  await fleet.start();
  const all = await fleet.waitRegistered(1, 1_200_000);
  const ms = performance.now() - t0;
  clearInterval(progress);
  const cpu = process.cpuUsage(cpu0);
  const storm = memory();
  await sleep(SETTLE_S * 1000);
  const settled = memory();
  const s = fleet.snapshot();
  process.send({
    type: 'registered', all, ms, devices: cfg.options.devices, registered: s.registered, before, storm, settled,
    cpuMs: (cpu.user + cpu.system) / 1000, p50: s.responseTime.p50, p99: s.responseTime.p99, errors: s.errors,
  });
  process.on('message', async (m) => {
    if (m === 'exit') process.exit(0);
    if (m === 'stop') {
      const t1 = performance.now();
      const final = await fleet.stop();
      process.send({ type: 'stopped', deregistrations: final.deregistrations, ms: performance.now() - t1 });
    }
  });
}

/** Starts a worker process (same flags as this one) with its configuration; resolves with a handle once it is ready. */
function startWorker(cfg) {
  const child = spawn(process.execPath, [...process.execArgv, self, '--worker'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, FLEET_WORKER: JSON.stringify(cfg) },
  });
  children.add(child);
  const waiters = new Map();
  const next = (type) => new Promise((resolve) => waiters.set(type, resolve));
  child.on('message', (m) => {
    if (m.type === 'progress') {
      console.log(`  … process ${cfg.name}: ${m.started} started, ${m.registered} registered, errors ${JSON.stringify(m.errors)}`);
      return;
    }
    waiters.get(m.type)?.(m);
    waiters.delete(m.type);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return next('ready').then(() => ({ child, next, exited, name: cfg.name }));
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const kb = (bytes) => (bytes / 1024).toFixed(1);
/** Per device: the process's reading less the control process's (same code, same warm-up, no fleet), both settled. */
const perDevice = (r, control, key) => (r.settled[key] - control[key]) / Math.max(1, r.registered);

function printMemory(rows, control) {
  console.log(`  ${'process'.padEnd(10)} ${'devices'.padStart(8)} ${'registered'.padStart(10)} ${'in s'.padStart(6)}`
    + `  ${'KB per device: RSS'.padStart(18)} ${'heap used'.padStart(9)} ${'committed'.padStart(9)} ${'external'.padStart(8)}`);
  const row = (name, devices, registered, ms, rss, heap, committed, external) => console.log(
    `  ${name.padEnd(10)} ${String(devices).padStart(8)} ${String(registered).padStart(10)} ${(ms / 1000).toFixed(1).padStart(6)}`
    + `  ${kb(rss).padStart(18)} ${kb(heap).padStart(9)} ${kb(committed).padStart(9)} ${kb(external).padStart(8)}`);
  for (const r of rows) {
    row(r.name, r.devices, r.registered, r.ms, perDevice(r, control, 'rss'), perDevice(r, control, 'heap'), perDevice(r, control, 'heapTotal'), perDevice(r, control, 'external'));
  }
  if (rows.length > 1) {
    const n = rows.reduce((a, r) => a + r.registered, 0);
    const mean = (key) => rows.reduce((a, r) => a + (r.settled[key] - control[key]), 0) / Math.max(1, n);
    row('all', rows.reduce((a, r) => a + r.devices, 0), n, Math.max(...rows.map((r) => r.ms)), mean('rss'), mean('heap'), mean('heapTotal'), mean('external'));
  }
  console.log('  (RSS, heap and external per device: a fleet process less a control process that loaded the same code and ran');
  console.log(`  the same warm-up, both read after ${SETTLE_S} s of quiet; target <= 10 KB RSS)`);
}

/** The control process of a run: same options, its baseline is that of every fleet process. */
async function control(options, keepWarm) {
  const c = await startWorker({ name: 'control', index: 99, control: true, keepWarm, options });
  c.child.send('go');
  return {
    measure: () => {
      const p = c.next('measured');
      c.child.send('measure');
      return p.then((m) => m.memory);
    },
    exit: () => {
      c.child.send('exit');
      return c.exited;
    },
  };
}

async function main() {
  if (typeof globalThis.gc !== 'function') throw new Error('run through bench/fleet.sh (it passes --expose-gc and raises ulimit -n)');
  const [limits, libcoap] = await importSources('fleet/limits.ts', 'test/support/libcoap.ts');
  const files = limits.openFileLimit() ?? 1_000_000;
  console.log(`bench/fleet: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores, shared), open-file limit ${files} per process, settle ${SETTLE_S} s`);

  if (UDP > 0) await udp(files);
  if (DTLS > 0) await dtls(libcoap);
  process.exit(0);
}

async function udp(files) {
  const room = files - SPARE;
  const processes = Math.max(1, env('FLEET_PROCESSES', Math.ceil(UDP / room)));
  const each = Math.min(room, Math.ceil(UDP / processes));
  const total = Math.min(UDP, each * processes);
  // The last process takes what is left, so the total is what was asked for.
  const sizes = Array.from({ length: processes }, (_, w) => Math.max(0, Math.min(each, total - w * each)));
  if (processes > 1) {
    console.log(`UDP: ${total} devices in ${processes} processes of up to ${each}: NOT one process. Each device holds its own`
      + ` socket (an open file), and a process here may open ${files} files: the hard limit (ulimit -Hn) cannot be raised`
      + ' without CAP_SYS_RESOURCE, which this container lacks.');
  } else if (each < UDP) {
    console.log(`UDP: ${UDP} devices need ${UDP + SPARE} open files in one process; it may open ${files}, so the run has ${each}`);
  }
  const server = spawn(process.execPath, [self, '--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.add(server);
  const port = await new Promise((resolve) => server.stdout.on('data', (c) => {
    const m = /PORT (\d+)/.exec(c.toString());
    if (m) resolve(Number(m[1]));
  }));
  const concurrency = Math.max(1, Math.ceil(STORM / processes));
  const baselineReady = control({ server: `coap://127.0.0.1:${port}`, devices: 1, localAddresses: ['127.0.0.1'] }, false);
  const workers = await Promise.all(Array.from({ length: processes }, (_, w) => startWorker({
    name: `udp-${w + 1}`,
    index: w,
    options: {
      server: `coap://127.0.0.1:${port}`, devices: sizes[w], firstIndex: w * each, maxConcurrentStarts: concurrency,
      localAddresses: Array.from({ length: ADDRESSES }, (_, i) => `127.0.0.${2 + ((w * ADDRESSES + i) % 250)}`),
    },
  })));
  const baseline = await baselineReady;
  const serverCpu0 = cpuOf(server.pid);
  const t0 = performance.now();
  const results = workers.map((w) => w.next('registered').then((r) => ({ ...r, name: w.name })));
  for (const w of workers) w.child.send('go');
  const rows = await Promise.all(results);
  const ms = Math.max(...rows.map((r) => r.ms));
  const serverCpu = cpuOf(server.pid) - serverCpu0;
  const registered = rows.reduce((a, r) => a + r.registered, 0);
  const counted = await new Promise((resolve) => {
    server.once('message', (m) => resolve(m.registrations));
    server.send('count');
  });
  console.log(`UDP, ${total} devices (${processes} process${processes === 1 ? '' : 'es'}, ${ADDRESSES} source addresses each, ${STORM} starting at once in all, lifetime ${LIFETIME} s): ${registered}/${total} registered in ${(ms / 1000).toFixed(1)} s; the server holds ${counted} registrations`);
  printMemory(rows, await baseline.measure());
  await baseline.exit();
  console.log(`  registrations/s (storm)              ${(registered / (ms / 1000)).toFixed(0)}  (one server process: ${serverCpu.toFixed(1)} s CPU, ${(serverCpu * 1000 / Math.max(1, registered)).toFixed(2)} ms per Register)`);
  console.log(`  fleet CPU per registration           ${(rows.reduce((a, r) => a + r.cpuMs, 0) / Math.max(1, registered)).toFixed(2)} ms`);
  console.log(`  Register round trip p50 / p99        ${rows.map((r) => `${r.p50?.toFixed(0)} / ${r.p99?.toFixed(0)}`).join(', ')} ms`);
  const errors = rows.filter((r) => Object.keys(r.errors).length > 0).map((r) => `${r.name} ${JSON.stringify(r.errors)}`);
  console.log(`  errors                               ${errors.length ? errors.join('; ') : 'none'}`);
  const t1 = performance.now();
  const stopped = await Promise.all(workers.map((w) => {
    const p = w.next('stopped');
    w.child.send('stop');
    return p;
  }));
  const stopMs = performance.now() - t1;
  const deregistrations = stopped.reduce((a, s) => a + s.deregistrations, 0);
  console.log(`  de-registered                        ${deregistrations} in ${(stopMs / 1000).toFixed(1)} s (${(deregistrations / (stopMs / 1000)).toFixed(0)}/s)`);
  for (const w of workers) w.child.send('exit');
  await Promise.all(workers.map((w) => w.exited));
  server.send('close');
}

async function dtls(libcoap) {
  // coap-rd-gnutls crashes on DELETE in libcoap 4.3.1, so it is stopped before the fleet (no De-registers).
  const rd = await libcoap.startLibcoap('coap-rd-gnutls', (p) => ['-A', '127.0.0.1', '-p', String(p), '-k', Buffer.from(PSK_HEX, 'hex').toString('latin1'), '-v', '0']);
  children.add(rd.proc);
  try {
    const baselineReady = control({
      server: `coaps://127.0.0.1:${rd.port + 1}`, devices: 1, pskIdentity: 'id-{ep}', pskKey: PSK_HEX, handshakeTimeoutMs: 30_000,
    }, true);
    const worker = await startWorker({
      name: 'dtls',
      index: 0,
      keepWarm: true,
      options: {
        server: `coaps://127.0.0.1:${rd.port + 1}`, devices: DTLS, pskIdentity: 'id-{ep}', pskKey: PSK_HEX,
        handshakeTimeoutMs: 30_000, maxConcurrentStarts: DTLS_CONCURRENCY,
      },
    });
    const baseline = await baselineReady;
    const rdCpu0 = cpuOf(rd.proc.pid);
    const result = worker.next('registered');
    worker.child.send('go');
    const r = { ...(await result), name: 'dtls' };
    const rdCpu = cpuOf(rd.proc.pid) - rdCpu0;
    console.log(`DTLS-PSK, ${DTLS} devices against coap-rd-gnutls (a handshake each, identity per device, ${DTLS_CONCURRENCY} at once): ${r.registered}/${DTLS} registered in ${(r.ms / 1000).toFixed(1)} s`);
    printMemory([r], await baseline.measure());
    await baseline.exit();
    console.log(`  handshakes/s (each with its Register) ${(r.registered / (r.ms / 1000)).toFixed(0)}`);
    console.log(`  CPU per device: fleet (node-dtls-client) ${(r.cpuMs / Math.max(1, r.registered)).toFixed(2)} ms, coap-rd-gnutls ${(rdCpu * 1000 / Math.max(1, r.registered)).toFixed(2)} ms`);
    console.log(`  Register round trip p50 / p99        ${r.p50?.toFixed(0)} / ${r.p99?.toFixed(0)} ms`);
    console.log(`  errors                               ${Object.keys(r.errors).length ? JSON.stringify(r.errors) : 'none'}`);
    console.log('  (de-registration not measured: coap-rd-gnutls 4.3.1 crashes on DELETE, so it is stopped first)');
    await libcoap.stopLibcoap(rd.proc);
    worker.child.send('exit');
    await worker.exited;
  } finally {
    await libcoap.stopLibcoap(rd.proc);
  }
}

/** Every process this one started, ended with it, so a failed run leaves nothing behind. */
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
if (role !== '--serve' && role !== '--worker') await main();
