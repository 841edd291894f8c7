// Firmware push over UDP on 127.0.0.1: Block1 streamed block by block to a sink (streamBlock1) vs reassembled in memory; time and peak memory.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

async function run(streamed) {
  const server = await coap.createUdpEndpoint({ address: '127.0.0.1', port: 0, maxBodySize: streamed ? 64 * 1024 : 2 * size });
  const client = await coap.createUdpEndpoint({ address: '127.0.0.1', port: 0, blockSize: 1024, maxBodySize: 2 * size });
  // The "storage": a running digest, so neither variant keeps the package once it is through.
  let hash = createHash('sha256');
  let stored = 0;
  if (streamed) {
    server.streamBlock1(() => ({
      write: (offset, bytes) => { hash.update(bytes); stored = offset + bytes.length; },
    }));
  }
  server.serve((req) => {
    if (!streamed) { hash.update(req.payload); stored = req.payload.length; }
    return { code: '2.04' };
  });
  const stop = sampler();
  const t0 = performance.now();
  const res = await client.request(server.address(), { method: 'PUT', path: ['5', '0', '0'], contentFormat: 42, payload: pkg });
  const ms = performance.now() - t0;
  const { peak, retained } = stop();
  const ok = res.code === '2.04' && stored === size && hash.digest('hex') === digest;
  hash = undefined;
  await client.close();
  await server.close();
  return { ms, peak, retained, ok };
}

const fmt = (r) => `${(size / MB / (r.ms / 1000)).toFixed(2).padStart(6)} MB/s  ${(r.ms / 1000).toFixed(2).padStart(6)} s  peak +${(r.peak / MB).toFixed(1).padStart(5)} MiB (garbage included), after gc +${(r.retained / MB).toFixed(1).padStart(5)} MiB  ${r.ok ? 'ok' : 'WRONG'}`;
console.log(`firmware push of ${size / MB} MiB in 1024-byte Block1 blocks over UDP 127.0.0.1; memory above the level before the run (the sender's copy is older)`);
const reassembled = await run(false);
console.log(`  reassembled   ${fmt(reassembled)}`);
const streamed = await run(true);
console.log(`  streamed      ${fmt(streamed)}`);
console.log(`  streamed/reassembled: time ×${(streamed.ms / reassembled.ms).toFixed(2)}, peak memory ×${(streamed.peak / reassembled.peak).toFixed(2)}`);
