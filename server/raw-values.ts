// Values of objects the models lack, from the formats that describe themselves (text, SenML JSON, SenML CBOR): shown, not typed.
import { decode as decodeCbor } from 'cbor-x';
import { ContentFormat, formatPath, type Lwm2mPath } from 'lwm2m-gen/runtime';
import type { ValueView } from './values.js';

/** SenML labels (RFC 8428 §6): CBOR uses the numbers, JSON the names. */
const LABELS: ReadonlyMap<unknown, string> = new Map<unknown, string>([[-2, 'bn'], [0, 'n'], [2, 'v'], [3, 'vs'], [4, 'vb'], [8, 'vd'], ['vlo', 'vlo']]);

function view(path: string, v: unknown): ValueView | undefined {
  if (typeof v === 'number') return { path, text: String(v), number: v };
  if (typeof v === 'bigint') return { path, text: v.toString(), number: Number(v) };
  if (typeof v === 'boolean') return { path, text: String(v), number: v ? 1 : 0 };
  if (typeof v === 'string') return { path, text: v };
  if (v instanceof Uint8Array) return { path, text: Buffer.from(v).toString('hex') };
  return undefined;
}

function senml(records: unknown): ValueView[] {
  if (!Array.isArray(records)) throw new Error('SenML is an array of records');
  let base = '';
  const out: ValueView[] = [];
  for (const r of records) {
    const fields = new Map<string, unknown>();
    const entries: Array<[unknown, unknown]> = r instanceof Map ? [...r.entries()] : Object.entries(r as object);
    for (const [k, v] of entries) fields.set(LABELS.get(k) ?? String(k), v);
    if (typeof fields.get('bn') === 'string') base = fields.get('bn') as string;
    const name = `${base}${typeof fields.get('n') === 'string' ? fields.get('n') : ''}`;
    const value = ['v', 'vs', 'vb', 'vd', 'vlo'].map((k) => fields.get(k)).find((v) => v !== undefined);
    const v = view(name.startsWith('/') ? name : `/${name}`, value);
    if (v) out.push(v);
  }
  return out;
}

/** The values of a payload without a model, or undefined when its format does not describe its values. */
export function rawValues(format: number | undefined, path: Lwm2mPath, payload: Uint8Array): ValueView[] | undefined {
  try {
    if (format === ContentFormat.TEXT) return [{ path: formatPath(path), text: new TextDecoder('utf-8', { fatal: true }).decode(payload) }];
    if (format === ContentFormat.SENML_JSON) return senml(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)));
    if (format === ContentFormat.SENML_CBOR) return senml(decodeCbor(payload));
  } catch {
    return undefined;
  }
  return undefined;
}
