// Memory profile of one fleet device, part by part: N copies of each part kept alive, measured with gc before and after.
// Run: node --expose-gc bench/fleet-profile.mjs [N] [--json]   (N default 5000; needs 2 N + 100 open files for the socket
// parts). bench/fleet-compare.mjs runs it on two versions side by side.
// Parts: a bound node:dgram socket; the runtime's UDP transport around it; a CoAP endpoint on a socket-less transport;
// an Lwm2mClient on that endpoint; the model Device instance; adding it to the client; a Register answered (the
// registered client's state: engine timers, the endpoint's tables after one exchange); the fleet's own per-device
// records (its event listeners). Every figure is heap per copy, RSS per copy, and external per copy.
import dgram from 'node:dgram';
import { importSources } from './lib.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5000);
const [runtime, device, modelDevice] = await importSources('runtime/index.ts', 'generated/device.ts', 'fleet/model-device.ts');
const { createCoapEndpoint, createUdpTransport, encodeMessage, decodeMessage, OptionNumber, Lwm2mClient } = runtime;

const memory = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
};
const te = new TextEncoder();
const server = { address: '127.0.0.1', port: 5683 };
const rows = [];
const keep = [];

/** Runs `make(i)` N times (awaiting it), keeps the results, and records the memory they hold. */
async function part(label, make) {
  const before = memory();
  const out = [];
  for (let i = 0; i < N; i++) out.push(await make(i));
  await new Promise((r) => setTimeout(r, 50));
  const after = memory();
  keep.push(out);
  rows.push({ label, heap: (after.heap - before.heap) / N, rss: (after.rss - before.rss) / N, external: (after.external - before.external) / N });
  return out;
}

/** A transport without a socket; it answers a Register (CON POST) with 2.01 and a Location-Path, as a server would. */
function answeringTransport() {
  let listener;
  return {
    send(data, peer) {
      const m = decodeMessage(data);
      if (m && m.type === 'CON' && m.code === '0.02') {
        const reply = encodeMessage({
          type: 'ACK', code: '2.01', messageId: m.messageId, token: m.token,
          options: [{ number: OptionNumber.LocationPath, value: te.encode('rd') }, { number: OptionNumber.LocationPath, value: te.encode(String(m.messageId)) }],
          payload: new Uint8Array(0),
        });
        queueMicrotask(() => listener?.(reply, peer));
      }
    },
    onMessage(l) { listener = l; },
    address: () => ({ address: '127.0.0.1', port: 40000 }),
    close: async () => undefined,
  };
}

const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const sockets = await part('node:dgram socket (bound)', (i) => new Promise((resolve) => {
  const s = dgram.createSocket('udp4');
  s.bind(0, addresses[i % addresses.length], () => resolve(s));
}));
const transports = await part('UDP transport (socket included)', (i) => createUdpTransport({ address: addresses[i % addresses.length] }));
const endpoints = await part('CoAP endpoint (no socket)', () => createCoapEndpoint(answeringTransport()));
const clients = await part('Lwm2mClient (no objects)', (i) => new Lwm2mClient({ endpointName: `dev-${i}`, transport: endpoints[i], server, lifetime: 300 }));
const instances = await part('model Device instance', (i) => modelDevice.modelDevice([device.Device], { index: i, endpointName: `dev-${i}`, binding: 'U', lifetime: 300 }));
await part('adding it to the client', (i) => { clients[i].addInstance(instances[i][0]); });
await part('registered (Register answered)', async (i) => { await clients[i].start(); });
await part('fleet: 7 event listeners', (i) => {
  const c = clients[i];
  const d = { registered: false };
  for (const name of ['registered', 'updated', 'deregistered', 'registration-failed', 'request', 'error']) c.on(name, () => { d.registered = !d.registered; });
  return d;
});
const registered = clients.filter((c) => c.state === 'registered').length;

if (process.argv.includes('--json')) {
  // For bench/fleet-compare.mjs: the rows as they are.
  process.stdout.write(`${JSON.stringify({ n: N, registered, rows })}\n`);
  for (const c of clients) await c.stop({ deregister: false });
  process.exit(0);
}
const kb = (b) => (b / 1024).toFixed(2).padStart(7);
console.log(`bench/fleet-profile: ${N} copies of each part (${registered} clients registered); per copy:`);
console.log(`  ${'part'.padEnd(36)} ${'heap KB'.padStart(7)} ${'RSS KB'.padStart(7)} ${'ext KB'.padStart(7)}`);
for (const r of rows) console.log(`  ${r.label.padEnd(36)} ${kb(r.heap)} ${kb(r.rss)} ${kb(r.external)}`);
const device1 = rows.filter((r) => r.label !== 'node:dgram socket (bound)');
const sum = (k) => device1.reduce((a, r) => a + r[k], 0);
console.log(`  ${'a device (all but the bare socket)'.padEnd(36)} ${kb(sum('heap'))} ${kb(sum('rss'))} ${kb(sum('external'))}`);
for (const c of clients) await c.stop({ deregister: false });
for (const s of sockets) s.close();
for (const t of transports) await t.close();
process.exit(0);
