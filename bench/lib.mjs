// What the benchmarks share: loading the project's TypeScript sources without a build, and a raw CoAP load generator.
import dgram from 'node:dgram';
import { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let hooked = false;

/**
 * Imports the given sources (paths from the repository root) and returns their modules in the same order. They run
 * directly through the project's TypeScript hooks (scripts/ts-hooks.mjs, transpile only, as the example's tests use);
 * type checking is left to `npm run lint`.
 */
export async function importSources(...files) {
  if (!hooked) {
    register('../scripts/ts-hooks.mjs', import.meta.url);
    hooked = true;
  }
  const modules = [];
  for (const file of files) modules.push(await import(pathToFileURL(join(root, file)).href));
  return modules;
}

/**
 * A raw CoAP peer on one UDP socket (127.0.0.1, ephemeral port), the load generator of the serve benches. `codec`
 * is the project's message layer ({ encodeMessage, decodeMessage, encodeUint, encodeBlock, OptionNumber }), passed
 * in so this file stays free of the TypeScript sources until a bench has loaded them with importSources.
 * `onRequest(message, rinfo, socket)` answers CON requests that reach the peer (a device registering with it); ACKs
 * with a response go to the load in progress.
 *
 * `load(port, path, { count, window, accept })` keeps `window` CON GETs in flight until `count` transfers have
 * completed, sends a request again (new message id) when it is not answered in 500 ms, and follows Block2 until the
 * last block. Tokens are never reused on a peer, so late answers to an earlier run are ignored. Resolves to
 * { rps, p50, p99, size } (latency in ms per transfer, size = bytes of the last body); rejects if any answer was
 * not 2.05.
 */
export async function rawCoapPeer(codec, { onRequest } = {}) {
  const { encodeMessage, decodeMessage, encodeUint, encodeBlock, OptionNumber } = codec;
  const te = new TextEncoder();
  const socket = dgram.createSocket('udp4');
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  let mid = 1;
  let tok = 1;
  let onResponse = () => undefined;
  socket.on('message', (data, rinfo) => {
    const m = decodeMessage(data);
    if (!m) return;
    if (m.type === 'CON' && m.code !== '0.00' && m.code.startsWith('0.')) {
      onRequest?.(m, rinfo, socket);
      return;
    }
    if (m.type === 'ACK' && m.code !== '0.00') onResponse(m);
  });

  async function load(port, path, { count, window, accept } = {}) {
    const base = [
      ...path.map((p) => ({ number: OptionNumber.UriPath, value: te.encode(p) })),
      ...(accept === undefined ? [] : [{ number: OptionNumber.Accept, value: encodeUint(accept) }]),
    ];
    const inflight = new Map(); // token hex -> transfer state
    const latencies = [];
    let started = 0;
    let done = 0;
    let size = 0;
    let badCode;
    const send = (st) => {
      const options = st.block > 0
        ? [...base, { number: OptionNumber.Block2, value: encodeBlock({ num: st.block, more: false, szx: st.szx }) }]
        : base;
      st.sentAt = performance.now();
      socket.send(encodeMessage({ type: 'CON', code: '0.01', messageId: (mid = (mid + 1) & 0xffff), token: st.token, options, payload: new Uint8Array(0) }), port, '127.0.0.1');
    };
    let finish;
    const finished = new Promise((r) => (finish = r));
    const startOne = () => {
      if (started >= count) return;
      started++;
      const token = new Uint8Array(4);
      new DataView(token.buffer).setUint32(0, tok++);
      const st = { token, block: 0, szx: 6, bytes: 0, t0: performance.now(), sentAt: 0 };
      inflight.set(Buffer.from(token).toString('hex'), st);
      send(st);
    };
    onResponse = (m) => {
      const key = Buffer.from(m.token).toString('hex');
      const st = inflight.get(key);
      if (!st) return;
      if (m.code !== '2.05') badCode = m.code;
      st.bytes += m.payload.length;
      const b2 = m.options.find((o) => o.number === OptionNumber.Block2);
      const last = b2 && b2.value.length > 0 ? b2.value[b2.value.length - 1] : 0;
      if (b2 && (last & 0x08)) {
        // Ask for the next block in the size the server chose.
        st.block++;
        st.szx = last & 0x07;
        send(st);
        return;
      }
      size = st.bytes;
      inflight.delete(key);
      latencies.push(performance.now() - st.t0);
      done++;
      if (done === count) finish();
      else startOne();
    };
    const resend = setInterval(() => {
      const now = performance.now();
      for (const st of inflight.values()) if (now - st.sentAt > 500) send(st);
    }, 100);
    const t0 = performance.now();
    for (let i = 0; i < window; i++) startOne();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(resend);
    onResponse = () => undefined;
    if (badCode) throw new Error(`the server answered ${badCode}`);
    latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    return { rps: count / seconds, p50: pct(50), p99: pct(99), size };
  }

  return { port: socket.address().port, load, close: () => new Promise((r) => socket.close(r)) };
}
