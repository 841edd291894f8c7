// Values between the page and the device: text typed in the page to checked model values, decoded values to JSON for the page.
import { checkValue, formatPath, type Lwm2mPath, type Lwm2mRecord, type ResourceModel, type ResourceValue } from 'lwm2m-gen/runtime';

/** A request from the page that cannot be sent as it is: answered 400 with this message, nothing goes to the device. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseInteger(text: string): number | bigint {
  if (!INTEGER.test(text)) throw new BadInputError(`"${text}" is not an integer`);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Text as typed in the page, for a resource of this type (Time: seconds or an ISO date; Objlnk: `3:0`; Opaque: hex). */
function fromText(r: ResourceModel, text: string): unknown {
  switch (r.type) {
    case 'String':
    case 'Corelnk':
      return text;
    case 'Integer':
    case 'Unsigned Integer':
      return parseInteger(text.trim());
    case 'Float':
      if (!DECIMAL.test(text.trim())) throw new BadInputError(`"${text}" is not a number`);
      return Number(text.trim());
    case 'Boolean':
      if (/^(true|1)$/i.test(text.trim())) return true;
      if (/^(false|0)$/i.test(text.trim())) return false;
      throw new BadInputError(`"${text}" is not a boolean (true, false, 1 or 0)`);
    case 'Opaque': {
      const hex = text.replace(/\s+/g, '');
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new BadInputError('an Opaque value is written as hex digits, two per byte');
      return Uint8Array.from(Buffer.from(hex, 'hex'));
    }
    case 'Time': {
      const t = text.trim();
      if (INTEGER.test(t)) return new Date(Number(t) * 1000);
      const d = new Date(t);
      if (Number.isNaN(d.getTime())) throw new BadInputError(`"${text}" is not a time (seconds since 1970 or an ISO 8601 date)`);
      return d;
    }
    case 'Objlnk': {
      const m = /^\s*(\d+):(\d+)\s*$/.exec(text);
      if (!m) throw new BadInputError(`"${text}" is not an object link (OBJECT:INSTANCE, e.g. 3:0)`);
      return { objectId: Number(m[1]), instanceId: Number(m[2]) };
    }
    case 'none':
      throw new BadInputError('an executable resource has no value to write');
  }
}

/** The value typed for a resource, parsed and checked against the model's type and range; BadInputError otherwise. */
export function valueFromText(r: ResourceModel, text: string, path: Lwm2mPath): ResourceValue {
  const parsed = fromText(r, text);
  try {
    return checkValue(r, parsed, path);
  } catch (e) {
    const where = formatPath(path);
    // The runtime's message starts with the path already; say it once, with the resource's name.
    const detail = (e instanceof Error ? e.message : String(e)).replace(`${where}: `, '');
    throw new BadInputError(`${where} (${r.name}): ${detail}`);
  }
}

/** A decoded value as the page gets it: its text, and its number for numeric values (what a chart draws). */
export interface ValueView {
  readonly path: string;
  readonly text: string;
  readonly number?: number;
}

/** The text and number of one value; strings stay exactly as the device sent them (the page renders them as text). */
export function valueView(path: Lwm2mPath, value: ResourceValue): ValueView {
  const p = formatPath(path);
  if (typeof value === 'number') return { path: p, text: String(value), number: value };
  if (typeof value === 'bigint') return { path: p, text: value.toString(), number: Number(value) };
  if (typeof value === 'boolean') return { path: p, text: String(value), number: value ? 1 : 0 };
  if (typeof value === 'string') return { path: p, text: value };
  if (value instanceof Date) return { path: p, text: value.toISOString(), number: Math.floor(value.getTime() / 1000) };
  if (value instanceof Uint8Array) return { path: p, text: Buffer.from(value).toString('hex') };
  return { path: p, text: `${value.objectId}:${value.instanceId}` };
}

/** The records of a response as the page gets them. */
export function recordViews(records: readonly Lwm2mRecord[]): ValueView[] {
  return records.map((r) => valueView(r.path, r.value));
}
