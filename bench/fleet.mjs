// Benchmark of lwm2m-gen/fleet: many UDP devices in one process (memory per device, registration storm rate, de-registration rate),
// and DTLS-PSK devices against libcoap's coap-rd-gnutls (memory per device, handshakes with Register per second).
// Run: bench/fleet.sh   (raises the open-file limit, then runs this with --expose-gc). Sizes: FLEET_UDP=<devices>
//      (default 100000), FLEET_DTLS=<devices> (default 10000), FLEET_ADDRESSES=<127.0.0.x source addresses> (default 8).
// The registration server runs in a child process (our test server, UDP on 127.0.0.1), so its memory is not counted.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { importSources } from './lib.mjs';

const UDP = Number(process.env.FLEET_UDP ?? 100_000);
const DTLS = Number(process.env.FLEET_DTLS ?? 10_000);
const ADDRESSES = Number(process.env.FLEET_ADDRESSES ?? 8);
const PSK_HEX = Buffer.from('fleet-bench-psk-key').toString('hex');

if (process.argv[2] === '--serve') {
  // ---- the child: the test LwM2M server, counting instead of keeping a log ----
  const [support] = await importSources('testing/index.ts');
  const server = await support.TestLwm2mServer.start();
  process.stdout.write(`PORT ${server.address().port}\n`);
  setInterval(() => {
    server.log.length = 0;
  }, 1000).unref();
  process.on('message', async (m) => {
    if (m === 'count') process.send?.(server.registrations.size);
    if (m === 'close') {
      await server.close();
      process.exit(0);
    }
  });
} else {
  if (typeof globalThis.gc !== 'function') throw new Error('run through bench/fleet.sh (it passes --expose-gc and raises ulimit -n)');
  const [fleetModule, device, libcoap] = await importSources('fleet/index.ts', 'generated/device.ts', 'test/support/libcoap.ts');
  const { Fleet, openFileLimit } = fleetModule;
  const objects = [device.Device];

  const memory = () => {
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
  };
  const kb = (bytes) => (bytes / 1024).toFixed(1);
  const line = (label, value) => console.log(`  ${label.padEnd(36)} ${value}`);

  console.log(`bench/fleet: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores, shared), open-file limit ${openFileLimit()}`);

  /** Starts a fleet, waits for every device, measures, stops it; returns the figures. */
  async function run(label, options, stop, rateLabel = 'registrations/s (storm, 512 at once)') {
    const before = memory();
    const t0 = performance.now();
    const fleet = new Fleet({ objects, maxConcurrentStarts: 512, closeTimeoutMs: 5000, ...options });
    // A line every 30 s: a slow run (a loaded machine, DTLS handshakes) shows how far it got.
    const progress = setInterval(() => {
      const p = fleet.snapshot();
      console.log(`  … ${((performance.now() - t0) / 1000).toFixed(0)} s: ${p.started} started, ${p.registered} registered, errors ${JSON.stringify(p.errors)}`);
    }, 30_000);
    await fleet.start();
    const all = await fleet.waitRegistered(1, 600_000);
    clearInterval(progress);
    const registeredMs = performance.now() - t0;
    const s = fleet.snapshot();
    const after = memory();
    const n = s.registered;
    console.log(`${label}: ${n}/${options.devices} registered${all ? '' : ' (not all)'} in ${(registeredMs / 1000).toFixed(1)} s`);
    line(rateLabel, (n / (registeredMs / 1000)).toFixed(0));
    line('RSS per device', `${kb((after.rss - before.rss) / n)} KB (target <= 10 KB)`);
    line('JS heap per device', `${kb((after.heap - before.heap) / n)} KB`);
    line('external + buffers per device', `${kb((after.external - before.external) / n)} KB`);
    line('Register round trip p50 / p99', `${s.responseTime.p50?.toFixed(1)} / ${s.responseTime.p99?.toFixed(1)} ms`);
    line('errors', JSON.stringify(s.errors));
    if (stop) {
      // The server is gone: closing the sockets is all that is left (De-registers would wait for re-handshakes).
      await stop();
      return { n, perDevice: (after.rss - before.rss) / n, fleet };
    }
    const t1 = performance.now();
    const final = await fleet.stop();
    const stopMs = performance.now() - t1;
    line('de-registered', `${final.deregistrations} in ${(stopMs / 1000).toFixed(1)} s (${(final.deregistrations / (stopMs / 1000)).toFixed(0)}/s)`);
    return { n, perDevice: (after.rss - before.rss) / n };
  }

  // ---- UDP: the test server in a child process ----
  const files = openFileLimit() ?? Infinity;
  const udpDevices = Math.min(UDP, files - 100);
  if (udpDevices < UDP) console.log(`  ${UDP} UDP devices need ${UDP + 64} open files; this process may open ${files}, so the run has ${udpDevices}`);
  if (udpDevices > 0) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const port = await new Promise((resolve) => child.stdout.on('data', (c) => {
      const m = /PORT (\d+)/.exec(c.toString());
      if (m) resolve(Number(m[1]));
    }));
    const localAddresses = Array.from({ length: ADDRESSES }, (_, i) => `127.0.0.${i + 2}`);
    try {
      await run(`UDP, ${udpDevices} devices from ${ADDRESSES} source addresses`, { server: `coap://127.0.0.1:${port}`, devices: udpDevices, localAddresses });
    } finally {
      child.send('close');
    }
  }

  // ---- DTLS-PSK: coap-rd-gnutls (it crashes on DELETE in libcoap 4.3.1, so it is stopped before the fleet) ----
  if (DTLS > 0) {
    const rd = await libcoap.startLibcoap('coap-rd-gnutls', (p) => ['-A', '127.0.0.1', '-p', String(p), '-k', Buffer.from(PSK_HEX, 'hex').toString('latin1'), '-v', '0']);
    try {
      await run(`DTLS-PSK, ${DTLS} devices (a handshake each, identity per device)`, {
        server: `coaps://127.0.0.1:${rd.port + 1}`, devices: DTLS, pskIdentity: 'id-{ep}', pskKey: PSK_HEX, handshakeTimeoutMs: 30_000,
      }, () => libcoap.stopLibcoap(rd.proc), 'handshakes/s (each with its Register)');
      console.log('  (de-registration not measured: coap-rd-gnutls 4.3.1 crashes on DELETE, so it is stopped first)');
    } finally {
      await libcoap.stopLibcoap(rd.proc);
    }
    process.exit(0);
  }
}
