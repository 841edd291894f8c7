// Firmware push over UDP and over coap+tcp:// (BERT) on 127.0.0.1: Block1 streamed block by block to a sink (streamBlock1) vs reassembled in memory; time and peak memory.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { importSources } from './lib.mjs';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const [coap] = await importSources('runtime/coap/index.ts');
const MB = 1 << 20;
const size = Number(process.argv[2] ?? 8) * MB;
const pkg = new Uint8Array(size).map((_, i) => (i * 131) & 0xff);
const digest = createHash('sha256').update(pkg).digest('hex');

/** Peak of heap + ArrayBuffer memory above the level before the run, sampled every 2 ms. */
function sampler() {
  globalThis.gc();
  const base = process.memoryUsage();
  const level = (m) => m.heapUsed + m.arrayBuffers;
  let peak = 0;
  const t = setInterval(() => { peak = Math.max(peak, level(process.memoryUsage()) - level(base)); }, 2);
  return () => {
    clearInterval(t);
    peak = Math.max(peak, level(process.memoryUsage()) - level(base));
    globalThis.gc();
    return { peak, retained: level(process.memoryUsage()) - level(base) };
  };
}

/** A server and a client endpoint over UDP, or over one TCP connection (RFC 8323, BERT as both CSMs offer it). */
async function endpoints(tcp, serverOptions) {
  if (!tcp) {
    const server = await coap.createUdpEndpoint({ address: '127.0.0.1', port: 0, ...serverOptions });
    const client = await coap.createUdpEndpoint({ address: '127.0.0.1', port: 0, blockSize: 1024, maxBodySize: 2 * size });
    return { server, client, peer: server.address(), stop: async () => { await client.close(); await server.close(); } };
  }
  let server;
  const listener = net.createServer((s) => { server = new coap.StreamCoapEndpoint(s, serverOptions); });
  await new Promise((r) => listener.listen(0, '127.0.0.1', r));
  const client = await coap.connectCoapEndpoint(`coap+tcp://127.0.0.1:${listener.address().port}`, { maxBodySize: 2 * size });
  await server.ready;
  return {
    server, client, peer: client.remote(),
    stop: async () => { await client.close(); await new Promise((r) => listener.close(r)); },
  };
}

async function run(tcp, streamed) {
  const { server, client, peer, stop: close } = await endpoints(tcp, { maxBodySize: streamed ? 64 * 1024 : 2 * size });
  let writes = 0;
  // The "storage": a running digest, so neither variant keeps the package once it is through.
  let hash = createHash('sha256');
  let stored = 0;
  if (streamed) {
    server.streamBlock1(() => ({
      write: (offset, bytes) => { hash.update(bytes); stored = offset + bytes.length; writes++; },
    }));
  }
  server.serve((req) => {
    if (!streamed) { hash.update(req.payload); stored = req.payload.length; }
    return { code: '2.04' };
  });
  const stop = sampler();
  const t0 = performance.now();
  const res = await client.request(peer, { method: 'PUT', path: ['5', '0', '0'], contentFormat: 42, payload: pkg });
  const ms = performance.now() - t0;
  const { peak, retained } = stop();
  const ok = res.code === '2.04' && stored === size && hash.digest('hex') === digest;
  hash = undefined;
  await close();
  return { ms, peak, retained, ok, writes };
}

const fmt = (r) => `${(size / MB / (r.ms / 1000)).toFixed(2).padStart(6)} MB/s  ${(r.ms / 1000).toFixed(2).padStart(6)} s  peak +${(r.peak / MB).toFixed(1).padStart(5)} MiB (garbage included), after gc +${(r.retained / MB).toFixed(1).padStart(5)} MiB  ${r.ok ? 'ok' : 'WRONG'}`;
for (const [tcp, title] of [[false, 'in 1024-byte Block1 blocks over UDP'], [true, 'over coap+tcp:// (BERT blocks as the CSMs allow)']]) {
  console.log(`firmware push of ${size / MB} MiB ${title} on 127.0.0.1; memory above the level before the run (the sender's copy is older)`);
  const reassembled = await run(tcp, false);
  console.log(`  reassembled   ${fmt(reassembled)}`);
  const streamed = await run(tcp, true);
  console.log(`  streamed      ${fmt(streamed)}  (${streamed.writes} blocks to the sink)`);
  console.log(`  streamed/reassembled: time ×${(streamed.ms / reassembled.ms).toFixed(2)}, peak memory ×${(streamed.peak / reassembled.peak).toFixed(2)}`);
}
