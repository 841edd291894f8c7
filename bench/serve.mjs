// Benchmark of serving LwM2M Reads: Read /3/0 (TLV and SenML CBOR) from the example device through Lwm2mClient, against a bare node-coap server answering a constant payload of the same size.
// Run: node bench/serve.mjs   (SERVE_BENCH_REQUESTS=20000 SERVE_BENCH_WINDOW=32 SERVE_BENCH_ROUNDS=2 to change the load)
// One load generator for both (rawCoapPeer, bench/lib.mjs): WINDOW CON GETs in flight over one UDP socket. It is also
// the "LwM2M server" the device registers with (our client only serves its own server). Prints requests/s, latency
// p50/p99, and the ratio ours / node-coap per format (best round of each).
import coap from 'coap';
import { importSources, rawCoapPeer } from './lib.mjs';

const REQUESTS = Number(process.env.SERVE_BENCH_REQUESTS ?? 20_000);
const WINDOW = Number(process.env.SERVE_BENCH_WINDOW ?? 32);
const ROUNDS = Number(process.env.SERVE_BENCH_ROUNDS ?? 2);

// The TypeScript sources run directly (transpiled on load), 'lwm2m-gen/runtime' mapped to runtime/index.ts.
const [runtime, { startSimpleDevice }] = await importSources('runtime/index.ts', 'examples/simple-device/app.ts');
const { encodeMessage, OptionNumber, ContentFormat } = runtime;

const te = new TextEncoder();
const FORMATS = [['TLV', ContentFormat.TLV], ['SenML CBOR', ContentFormat.SENML_CBOR]];

/** The raw CoAP peer of bench/lib.mjs, also the device's LwM2M server: answers Register/De-register. */
async function rawPeer() {
  const peer = await rawCoapPeer(runtime, {
    onRequest: (m, rinfo, socket) => {
      if (m.code !== '0.02' && m.code !== '0.04') return;
      // Register (POST /rd) → 2.01 rd/1; De-register (DELETE /rd/1) → 2.02.
      const options = m.code === '0.02' ? [
        { number: OptionNumber.LocationPath, value: te.encode('rd') }, { number: OptionNumber.LocationPath, value: te.encode('1') },
      ] : [];
      const code = m.code === '0.02' ? '2.01' : '2.02';
      socket.send(encodeMessage({ type: 'ACK', code, messageId: m.messageId, token: m.token, options, payload: new Uint8Array(0) }), rinfo.port, rinfo.address);
    },
  });
  /** N requests, WINDOW in flight; a request not answered in 500 ms is sent again. */
  const load = (port, path, accept, count = REQUESTS) => peer.load(port, path, { count, window: WINDOW, accept });
  return { port: peer.port, load, close: peer.close };
}

/** One GET to learn what our device answers (size and bytes), so node-coap can answer the same. */
async function sample(peer, port, accept) {
  return (await peer.load(port, ['3', '0'], accept, 1)).size;
}

const peer = await rawPeer();
const device = await startSimpleDevice({ server: `coap://127.0.0.1:${peer.port}`, endpoint: 'bench', lifetime: 86400, log: () => undefined });
const ourPort = device.transport.address().port;

const payloads = new Map();
for (const [, cf] of FORMATS) payloads.set(cf, new Uint8Array(await sample(peer, ourPort, cf)).fill(0x41));

const server = coap.createServer({ type: 'udp4' });
// The format of the run in progress: node-coap's view of Accept varies by number, so the bench sets it outright.
let current = ContentFormat.TLV;
let constant = Buffer.from(payloads.get(current));
server.on('request', (_req, res) => {
  res.setOption('Content-Format', current);
  res.end(constant);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const nodePort = server._sock.address().port;

const best = (a, b) => (!a || b.rps > a.rps ? b : a);
const results = new Map();
for (const [name, cf] of FORMATS) {
  current = cf;
  constant = Buffer.from(payloads.get(cf));
  await peer.load(ourPort, ['3', '0'], cf); // warm-up
  await peer.load(nodePort, ['3', '0'], cf);
  let ours;
  let theirs;
  for (let round = 0; round < ROUNDS; round++) {
    ours = best(ours, await peer.load(ourPort, ['3', '0'], cf));
    theirs = best(theirs, await peer.load(nodePort, ['3', '0'], cf));
  }
  results.set(name, { ours, theirs });
}

await device.stop();
await new Promise((r) => server.close(r));
await peer.close();

const f = (x) => x.toFixed(0).padStart(8);
const ms = (x) => x.toFixed(2).padStart(7);
console.log(`Read /3/0 over UDP on 127.0.0.1: ${REQUESTS} requests per run, ${WINDOW} in flight, best of ${ROUNDS}, Node ${process.version}`);
console.log('format       server                          bytes    req/s   p50 ms   p99 ms');
for (const [name, { ours, theirs }] of results) {
  console.log(`${name.padEnd(12)} lwm2m-gen client (example device) ${String(ours.size).padStart(5)} ${f(ours.rps)} ${ms(ours.p50)} ${ms(ours.p99)}`);
  console.log(`${name.padEnd(12)} node-coap, constant payload       ${String(theirs.size).padStart(5)} ${f(theirs.rps)} ${ms(theirs.p50)} ${ms(theirs.p99)}`);
  console.log(`${name.padEnd(12)} ratio ours/node-coap: ${(ours.rps / theirs.rps).toFixed(2)}x throughput`);
}
