// Benchmark of serving over UDP: our message layer against node-coap's server, loaded by the same raw CoAP client.
// Run: node bench/serve-udp-raw.mjs   (SERVE_BENCH_REQUESTS=50000 SERVE_BENCH_WINDOW=64 to change the load)
// Prints requests/s and latency p50/p99 for a small GET and for a 4 KiB GET fetched block by block, and the
// side-by-side ratio (ours / node-coap).
import coap from 'coap';
import { importSources, rawCoapPeer } from './lib.mjs';

const REQUESTS = Number(process.env.SERVE_BENCH_REQUESTS ?? 30_000);
const WINDOW = Number(process.env.SERVE_BENCH_WINDOW ?? 32);

const [{ createUdpEndpoint }, codec] = await importSources(
  'runtime/coap/udp.ts', 'runtime/coap/message.ts',
);

const te = new TextEncoder();
const SMALL = te.encode('{"bn":"/3303/0/","e":[{"n":"5700","v":21.5}]}');
const LARGE = new Uint8Array(4096).fill(0x61);

/** WINDOW CON GETs in flight (Block2 followed for the large body) from a fresh raw peer (bench/lib.mjs). */
async function load(port, path) {
  const peer = await rawCoapPeer(codec);
  try {
    return await peer.load(port, path, { count: REQUESTS, window: WINDOW });
  } finally {
    await peer.close();
  }
}

async function ours() {
  const ep = await createUdpEndpoint({ address: '127.0.0.1' });
  ep.serve((req) => ({ code: '2.05', contentFormat: 110, payload: req.path[0] === 'large' ? LARGE : SMALL }));
  const port = ep.address().port;
  await load(port, ['small']); // warm-up
  const small = await load(port, ['small']);
  const large = await load(port, ['large']);
  await ep.close();
  return { small, large };
}

async function nodeCoap() {
  const server = coap.createServer({ type: 'udp4' });
  server.on('request', (req, res) => {
    res.setOption('Content-Format', 110);
    res.end(Buffer.from(req.url === '/large' ? LARGE : SMALL));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server._sock.address().port;
  await load(port, ['small']);
  const small = await load(port, ['small']);
  const large = await load(port, ['large']);
  await new Promise((r) => server.close(r));
  return { small, large };
}

const a = await ours();
const b = await nodeCoap();
const f = (x) => x.toFixed(0).padStart(8);
const ms = (x) => x.toFixed(2).padStart(7);
console.log(`serve over UDP on 127.0.0.1: ${REQUESTS} requests per case, ${WINDOW} in flight, Node ${process.version}`);
console.log('case                 server      req/s   p50 ms   p99 ms');
for (const [name, key] of [['GET 46 B (piggyback)', 'small'], ['GET 4 KiB (Block2)  ', 'large']]) {
  console.log(`${name} lwm2m-gen ${f(a[key].rps)} ${ms(a[key].p50)} ${ms(a[key].p99)}`);
  console.log(`${name} node-coap ${f(b[key].rps)} ${ms(b[key].p50)} ${ms(b[key].p99)}`);
  console.log(`${name} ratio ours/node-coap: ${(a[key].rps / b[key].rps).toFixed(2)}x throughput`);
}
