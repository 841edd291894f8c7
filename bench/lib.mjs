// What the benchmarks share: loading the project's TypeScript sources without a build, and a raw CoAP load generator.
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Transpiles the given sources (paths from the repository root) and every file they import relatively, imports
 * them and returns their modules in the same order. Type checking is left to `npm run lint`. The files go under
 * node_modules/.cache so that bare imports (coap-packet, cbor-x, node-dtls-client) resolve from the project, and
 * the folder is removed once the modules are loaded.
 */
export async function importSources(...files) {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const out = mkdtempSync(join(root, 'node_modules', '.cache', 'lwm2m-bench-'));
  const seen = new Set();
  const transpile = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
    for (const m of src.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) transpile(resolve(dirname(file), `${m[1]}.ts`));
  };
  try {
    for (const file of files) transpile(join(root, file));
    const modules = [];
    for (const file of files) modules.push(await import(pathToFileURL(join(out, file.replace(/\.ts$/, '.js'))).href));
    return modules;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * A raw CoAP peer on one UDP socket (127.0.0.1, ephemeral port), the load generator of the serve benches. `codec`
 * is the project's message layer ({ encodeMessage, decodeMessage, encodeUint, encodeBlock, OptionNumber }), passed
 * in because each bench loads the TypeScript sources its own way. `onRequest(message, rinfo, socket)` answers CON
 * requests that reach the peer (a device registering with it); ACKs with a response go to the load in progress.
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
