// Benchmark of serving over UDP: our message layer against node-coap's server, loaded by the same raw CoAP client.
// Run: node bench/serve-udp-raw.mjs   (SERVE_BENCH_REQUESTS=50000 SERVE_BENCH_WINDOW=64 to change the load)
// Prints requests/s and latency p50/p99 for a small GET and for a 4 KiB GET fetched block by block, and the
// side-by-side ratio (ours / node-coap).
import dgram from 'node:dgram';
import coap from 'coap';
import { importSources } from './lib.mjs';

const REQUESTS = Number(process.env.SERVE_BENCH_REQUESTS ?? 30_000);
const WINDOW = Number(process.env.SERVE_BENCH_WINDOW ?? 32);

const [{ createUdpEndpoint }, { encodeMessage, decodeMessage, encodeBlock, OptionNumber }] = await importSources(
  'runtime/coap/udp.ts', 'runtime/coap/message.ts',
);

const te = new TextEncoder();
const SMALL = te.encode('{"bn":"/3303/0/","e":[{"n":"5700","v":21.5}]}');
const LARGE = new Uint8Array(4096).fill(0x61);

/**
 * A raw client: keeps WINDOW requests in flight, each a chain of CON GETs (Block2 follow-ups for a large body),
 * resends a request not answered in 500 ms. Returns requests/s and latency percentiles per full transfer.
 */
async function load(port, path) {
  const socket = dgram.createSocket('udp4');
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  let mid = 1;
  let tok = 1;
  const inflight = new Map(); // token hex -> state
  const latencies = [];
  let started = 0;
  let done = 0;
  const pathOpts = path.map((p) => ({ number: OptionNumber.UriPath, value: te.encode(p) }));
  const send = (st) => {
    const options = st.block > 0 ? [...pathOpts, { number: OptionNumber.Block2, value: encodeBlock({ num: st.block, more: false, szx: 6 }) }] : pathOpts;
    st.sentAt = performance.now();
    socket.send(encodeMessage({ type: 'CON', code: '0.01', messageId: (mid = (mid + 1) & 0xffff), token: st.token, options, payload: new Uint8Array(0) }), port, '127.0.0.1');
  };
  let finish;
  const finished = new Promise((r) => (finish = r));
  const startOne = () => {
    if (started >= REQUESTS) return;
    started++;
    const token = new Uint8Array(4);
    new DataView(token.buffer).setUint32(0, tok++);
    const st = { token, block: 0, t0: performance.now(), sentAt: 0 };
    inflight.set(Buffer.from(token).toString('hex'), st);
    send(st);
  };
  socket.on('message', (data) => {
    const m = decodeMessage(data);
    if (!m || m.type !== 'ACK' || m.code === '0.00') return;
    const key = Buffer.from(m.token).toString('hex');
    const st = inflight.get(key);
    if (!st) return;
    const b2 = m.options.find((o) => o.number === OptionNumber.Block2);
    if (b2 && (b2.value[b2.value.length - 1] & 0x08)) {
      st.block++;
      send(st);
      return;
    }
    inflight.delete(key);
    latencies.push(performance.now() - st.t0);
    done++;
    if (done === REQUESTS) finish();
    else startOne();
  });
  const resend = setInterval(() => {
    const now = performance.now();
    for (const st of inflight.values()) if (now - st.sentAt > 500) send(st);
  }, 100);
  const t0 = performance.now();
  for (let i = 0; i < WINDOW; i++) startOne();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(resend);
  await new Promise((r) => socket.close(r));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rps: REQUESTS / seconds, p50: pct(50), p99: pct(99) };
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
