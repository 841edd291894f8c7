// The main command's arguments: a small declarative parser and its help text, so a run loads no CLI library.

/**
 * `folder`: a string that must name a folder: never empty, never an option, never a DDF file name.
 * `strings`: a string option that may be repeated; its values are kept in order.
 */
export type OptionKind = 'boolean' | 'string' | 'folder' | 'strings';

export interface OptionSpec {
  readonly name: string;
  readonly alias?: string;
  readonly kind: OptionKind;
  readonly describe: string;
  /** Shown in the help as the value's placeholder. */
  readonly value?: string;
  readonly default?: string;
}

export class UsageError extends Error {}

export type ParsedArgs = {
  readonly positional: readonly string[];
  readonly flags: ReadonlyMap<string, string | boolean | readonly string[]>;
};

/** Whether a value given to a `folder` option is really the next option or an input file the user meant to list. */
function notAFolder(value: string): string | undefined {
  if (value.trim() === '') return 'an empty value';
  if (value.startsWith('-')) return `the option ${value}`;
  if (/\.xml$/i.test(value)) return `the file name ${value}`;
  return undefined;
}

/** A string option's value, when given. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable option's values, in order (none when not given). */
export function stringsFlag(args: ParsedArgs, name: string): readonly string[] {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : [];
}

/** The terminal's width for help, at most 100 columns. */
export function helpWidth(): number {
  return Math.min(100, process.stdout.columns || 100);
}

/** Parses `argv` against `specs`; throws UsageError on anything it does not know or a missing value. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.alias) byName.set(s.alias, s);
  }
  const positional: string[] = [];
  const flags = new Map<string, string | boolean | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = (eq >= 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
    const spec = byName.get(key);
    if (!spec) throw new UsageError(`Unknown argument: ${key}`);
    if (spec.kind === 'boolean') {
      if (eq >= 0) {
        const v = a.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${spec.name} takes no value (got ${JSON.stringify(v)})`);
        flags.set(spec.name, v === 'true');
      } else flags.set(spec.name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) throw new UsageError(`--${spec.name} needs a ${spec.kind === 'folder' ? 'folder' : 'value'}`);
    if (spec.kind === 'folder') {
      const wrong = notAFolder(value);
      if (wrong) throw new UsageError(`--${spec.name} needs a folder, not ${wrong}`);
    }
    if (spec.kind === 'strings') {
      if (value === '' || value.startsWith('-')) throw new UsageError(`--${spec.name} needs a value`);
      const list = flags.get(spec.name);
      flags.set(spec.name, Array.isArray(list) ? [...list, value] : [value]);
    } else flags.set(spec.name, value);
  }
  return { positional, flags };
}

/** Splits text into lines of at most `width` characters, breaking only between words. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines.length > 0 ? lines : [''];
}

/** Two columns: each left cell padded to one width, the right cell wrapped at word boundaries beside it. */
export function columns(rows: ReadonlyArray<readonly [string, string]>, width: number, indent = 2): string[] {
  const left = Math.max(...rows.map(([l]) => l.length)) + indent + 2;
  const right = Math.max(20, width - left);
  const out: string[] = [];
  for (const [l, r] of rows) {
    const wrapped = wrapWords(r, right);
    // A left cell too long for its column puts the description on the lines below it.
    if (l.length + indent + 2 > left) out.push(`${' '.repeat(indent)}${l}`);
    wrapped.forEach((w, i) => out.push(`${i === 0 && l.length + indent + 2 <= left ? `${' '.repeat(indent)}${l.padEnd(left - indent)}` : ' '.repeat(left)}${w}`.trimEnd()));
  }
  return out;
}

export interface HelpSpec {
  readonly usage: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly commands?: ReadonlyArray<readonly [string, string]>;
  readonly examples?: ReadonlyArray<readonly [string, string]>;
  /** Paragraphs after everything else. */
  readonly notes?: readonly string[];
}

function optionCell(s: OptionSpec): string {
  const flag = `${s.alias ? `-${s.alias}, ` : '    '}--${s.name}`;
  return s.kind === 'boolean' ? flag : `${flag} ${s.value ?? 'VALUE'}`;
}

/** The help text, wrapped to `width` columns at word boundaries. */
export function helpText(h: HelpSpec, width: number): string {
  const optionRows = h.options.map((s) => [optionCell(s), `${s.describe}${s.default !== undefined ? ` (default ${s.default})` : ''}`] as const);
  const section = (title: string, rows: ReadonlyArray<readonly [string, string]> | undefined): string[] =>
    rows && rows.length > 0 ? ['', `${title}:`, ...columns(rows, width)] : [];
  return [
    `Usage: ${h.usage}`,
    '',
    ...wrapWords(h.description, width),
    ...section('Options', optionRows),
    ...section('Commands', h.commands),
    ...section('Examples', h.examples),
    ...(h.notes ?? []).flatMap((p) => ['', ...wrapWords(p, width)]),
  ].join('\n');
}
