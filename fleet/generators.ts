// Value generators that drive a fleet's resources (and so its notifications): constant, random walk, sine, replay.
import { readFileSync } from 'node:fs';

/** How one resource of every device changes over time. */
export type GeneratorSpec =
  | { readonly kind: 'constant'; readonly value: number | string | boolean }
  /** Starts at `start` (default halfway between min and max), moves by at most `step` per tick, stays in min..max. */
  | { readonly kind: 'random-walk'; readonly min: number; readonly max: number; readonly step: number; readonly start?: number }
  /** min..max over `periodSeconds`; devices are spread over the period so they do not move in lockstep. */
  | { readonly kind: 'sine'; readonly min: number; readonly max: number; readonly periodSeconds: number }
  /** One value per tick from a CSV column (by header name, or 0-based index), looping; device i starts at row i. */
  | { readonly kind: 'replay'; readonly file: string; readonly column?: string | number };

/** A generator applied to one resource path of every device, every `everySeconds`. */
export interface ValueGeneratorOptions {
  /** "/3303/0/5700" or "3303/0/5700". */
  readonly path: string;
  readonly everySeconds: number;
  readonly generator: GeneratorSpec;
}

/** A resource path split into its ids. */
export interface ResourcePath {
  readonly objectId: number;
  readonly instanceId: number;
  readonly resourceId: number;
}

/** Why a generator option cannot work; names the option and what to change. */
export class GeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorError';
  }
}

export function parseResourcePath(path: string): ResourcePath {
  const parts = path.replace(/^\//, '').split('/');
  const ids = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (ids.length !== 3 || ids.some((n) => !Number.isInteger(n) || n > 65535)) {
    throw new GeneratorError(`value path "${path}" is not a resource path: write OBJECT/INSTANCE/RESOURCE, e.g. /3303/0/5700`);
  }
  return { objectId: ids[0]!, instanceId: ids[1]!, resourceId: ids[2]! };
}

/** A value source for every device of a fleet: `next(device)` is that device's next value. */
export interface ValueSource {
  next(device: number): number | string | boolean;
}

/** The values of one CSV column, numbers where the cell is one; refuses an empty or unreadable file with its name. */
export function readCsvColumn(file: string, column: string | number = 0): Array<number | string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GeneratorError(`cannot read replay file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => l.split(',').map((c) => c.trim()));
  let index = typeof column === 'number' ? column : -1;
  let body = rows;
  if (typeof column === 'string') {
    index = rows[0]?.indexOf(column) ?? -1;
    if (index < 0) throw new GeneratorError(`${file}:1: no column named "${column}" (the header has: ${rows[0]?.join(', ') ?? 'nothing'})`);
    body = rows.slice(1);
  } else if (rows[0] !== undefined && rows[0][index] !== undefined && Number.isNaN(Number(rows[0][index]))) {
    body = rows.slice(1); // a header line of names
  }
  const values = body.map((r, i) => {
    const cell = r[index];
    if (cell === undefined) throw new GeneratorError(`${file}:${i + 1 + rows.length - body.length}: no column ${index}`);
    return cell !== '' && !Number.isNaN(Number(cell)) ? Number(cell) : cell;
  });
  if (values.length === 0) throw new GeneratorError(`replay file ${file} has no values`);
  return values;
}

/** Checks a generator's parameters and builds its per-device source; throws GeneratorError naming what to change. */
export function createValueSource(spec: GeneratorSpec, devices: number, random: () => number = Math.random): ValueSource {
  const finite = (name: string, v: number): void => {
    if (!Number.isFinite(v)) throw new GeneratorError(`${spec.kind}: ${name} must be a number`);
  };
  switch (spec.kind) {
    case 'constant':
      return { next: () => spec.value };
    case 'random-walk': {
      finite('min', spec.min);
      finite('max', spec.max);
      finite('step', spec.step);
      if (spec.max < spec.min) throw new GeneratorError(`random-walk: min ${spec.min} is above max ${spec.max}`);
      const start = spec.start ?? (spec.min + spec.max) / 2;
      // One number per device: the state of 100,000 walks is 800 KB, not 100,000 objects.
      const state = new Float64Array(devices).fill(start);
      return {
        next(d) {
          const v = Math.min(spec.max, Math.max(spec.min, (state[d] ?? start) + (random() * 2 - 1) * spec.step));
          state[d] = v;
          return v;
        },
      };
    }
    case 'sine': {
      finite('min', spec.min);
      finite('max', spec.max);
      if (!(spec.periodSeconds > 0)) throw new GeneratorError('sine: periodSeconds must be above 0');
      const started = Date.now();
      return {
        next(d) {
          const phase = ((Date.now() - started) / 1000 / spec.periodSeconds + d / Math.max(1, devices)) * 2 * Math.PI;
          return spec.min + ((Math.sin(phase) + 1) / 2) * (spec.max - spec.min);
        },
      };
    }
    case 'replay': {
      const values = readCsvColumn(spec.file, spec.column);
      const position = new Uint32Array(devices);
      return {
        next(d) {
          const p = position[d] ?? 0;
          position[d] = p + 1;
          return values[(d + p) % values.length]!;
        },
      };
    }
  }
}
