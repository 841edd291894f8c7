// Benchmark of the secure transports against plain UDP, all against one libcoap coap-server-gnutls in the same run:
// handshake time (DTLS-PSK, TLS-PSK, and plain TCP+CSM for reference) and small-GET throughput over UDP, DTLS, TCP and TLS.
// Run: node bench/secure.mjs   (about 15 s; SECURE_BENCH_MS=<ms per throughput run> default 2000,
//      SECURE_BENCH_HANDSHAKES=<n> default 30, SECURE_BENCH_WINDOW=<requests in flight> default 16)
// Prints medians and means, requests/s, and each figure's ratio to plain UDP (throughput) or to TCP (handshakes).
import { importSources } from './lib.mjs';

const MS = Number(process.env.SECURE_BENCH_MS ?? 2000);
const HANDSHAKES = Number(process.env.SECURE_BENCH_HANDSHAKES ?? 30);
const WINDOW = Number(process.env.SECURE_BENCH_WINDOW ?? 16);
const PSK = 'bench-psk-key-0001';

// The libcoap launcher is the interop tests' own (test/support/libcoap.ts).
const [stream, udp, endpoint, libcoap] = await importSources(
  'runtime/coap/stream.ts', 'runtime/coap/udp.ts', 'runtime/coap/endpoint.ts', 'test/support/libcoap.ts',
);
const { connectTcpEndpoint, connectTlsEndpoint, createDtlsTransport } = stream;
const { createUdpTransport } = udp;
const { createCoapEndpoint } = endpoint;

// ---- the server: libcoap on an ephemeral port (plain on PORT, DTLS/TLS on PORT+1) ----
const started = await libcoap.startLibcoap('coap-server-gnutls', (p) => ['-A', '127.0.0.1', '-p', String(p), '-k', PSK, '-v', '0'])
  .catch(() => { throw new Error('coap-server-gnutls did not start (is libcoap3-bin installed?)'); });
const server = started.proc;
const port = started.port;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pskKey = Buffer.from(PSK);

try {
  // ---- handshakes ----
  async function handshakes(name, open) {
    const times = [];
    for (let i = 0; i < HANDSHAKES; i++) {
      const t0 = performance.now();
      const closeIt = await open();
      times.push(performance.now() - t0);
      await closeIt();
    }
    return { name, median: median(times), mean: mean(times) };
  }
  const hs = [];
  hs.push(await handshakes('TCP + CSM (reference)', async () => {
    const ep = await connectTcpEndpoint({ host: '127.0.0.1', port });
    return () => ep.close();
  }));
  hs.push(await handshakes('TLS 1.2 PSK + CSM', async () => {
    const ep = await connectTlsEndpoint({ host: '127.0.0.1', port: port + 1, pskIdentity: 'bench', pskKey });
    return () => ep.close();
  }));
  {
    // The same client against Node's own TLS server, to tell our side's cost from libcoap's (see the note printed below).
    const { default: tls } = await import('node:tls');
    const nodeServer = tls.createServer({ pskCallback: () => pskKey, ciphers: 'PSK-AES128-CCM8', maxVersion: 'TLSv1.2' }, (s) => s.on('error', () => {}));
    await new Promise((r) => nodeServer.listen(0, '127.0.0.1', r));
    hs.push(await handshakes('TLS 1.2 PSK, Node server', async () => {
      const s = await stream.openTlsSocket({ host: '127.0.0.1', port: nodeServer.address().port, pskIdentity: 'bench', pskKey });
      return async () => { s.destroy(); };
    }));
    await new Promise((r) => nodeServer.close(r));
  }
  hs.push(await handshakes('DTLS 1.2 PSK (CCM_8)', async () => {
    const t = await createDtlsTransport({ host: '127.0.0.1', port: port + 1, pskIdentity: 'bench', pskKey, timeoutMs: 3000 });
    return () => t.close();
  }));
  const base = hs[0].median;
  console.log(`handshake (${HANDSHAKES} each, libcoap ${'coap-server-gnutls'} on 127.0.0.1)`);
  console.log('  transport                 median ms   mean ms   ratio to TCP (median)');
  for (const h of hs) console.log(`  ${h.name.padEnd(24)} ${h.median.toFixed(2).padStart(9)} ${h.mean.toFixed(2).padStart(9)}   ${(h.median / base).toFixed(2)}×`);
  console.log('  (The same client takes about 1 ms against Node\'s TLS server: the extra ~45 ms is on the libcoap/GnuTLS side;\n   a Nagle/delayed-ACK pattern is suspected, not proven. Throughput varies ±50 % between runs on a shared machine.)');

  // ---- throughput: GET /time with WINDOW requests in flight for MS milliseconds ----
  async function throughput(name, request, close) {
    let done = 0;
    let failed = 0;
    const end = performance.now() + MS;
    const t0 = performance.now();
    const worker = async () => {
      while (performance.now() < end) {
        try {
          const res = await request();
          if (res.code === '2.05') done++;
          else failed++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
    const secs = (performance.now() - t0) / 1000;
    await close();
    return { name, rps: done / secs, failed };
  }
  const get = { method: 'GET', path: ['time'] };
  const rows = [];
  {
    const t = await createUdpTransport({ address: '127.0.0.1' });
    const ep = createCoapEndpoint(t);
    const peer = { address: '127.0.0.1', port };
    rows.push(await throughput('UDP (coap://)', () => ep.request(peer, get), () => ep.close()));
  }
  {
    const t = await createDtlsTransport({ host: '127.0.0.1', port: port + 1, pskIdentity: 'bench', pskKey, timeoutMs: 3000 });
    const ep = createCoapEndpoint(t);
    rows.push(await throughput('DTLS-PSK (coaps://)', () => ep.request(t.remote, get), () => ep.close()));
  }
  {
    const ep = await connectTcpEndpoint({ host: '127.0.0.1', port });
    rows.push(await throughput('TCP (coap+tcp://)', () => ep.request(ep.remote(), get), () => ep.close()));
  }
  {
    const ep = await connectTlsEndpoint({ host: '127.0.0.1', port: port + 1, pskIdentity: 'bench', pskKey });
    rows.push(await throughput('TLS-PSK (coaps+tcp://)', () => ep.request(ep.remote(), get), () => ep.close()));
  }
  const udpRps = rows[0].rps;
  console.log(`\nthroughput: GET /time, ${WINDOW} in flight, ${MS} ms each`);
  console.log('  transport                 requests/s   failed   ratio to UDP');
  for (const r of rows) console.log(`  ${r.name.padEnd(24)} ${r.rps.toFixed(0).padStart(11)} ${String(r.failed).padStart(8)}   ${(r.rps / udpRps).toFixed(2)}×`);
} finally {
  server.kill('SIGTERM');
}
