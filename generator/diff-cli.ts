// The `lwm2m-gen diff` and `lwm2m-gen --check-extensions` commands, as functions the main CLI dispatches to.
import { helpText, helpWidth, parseArgs, stringsFlag, UsageError, type HelpSpec, type OptionSpec, type ParsedArgs } from './args.js';
import { formatDiagnostic } from './diagnostics.js';
import { diffObjects, formatChange } from './diff.js';
import { ALLOW_OUT_OF_RANGE } from './extensions-scope.js';
import { loadObjects } from './generate.js';

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: CommandIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

const HELP: OptionSpec = { name: 'help', alias: 'h', kind: 'boolean', describe: 'Print this help and exit' };

/** Parses a command's arguments: its help on --help (exit 0), a usage error and the help on bad ones (exit 2). */
function parse(argv: readonly string[], help: HelpSpec, positionals: { min: number; max: number; message: string }, io: CommandIo): ParsedArgs | number {
  const text = () => helpText(help, helpWidth());
  try {
    const args = parseArgs(argv, help.options);
    if (args.flags.get('help') === true) {
      io.out(text());
      return 0;
    }
    if (args.positional.length < positionals.min || args.positional.length > positionals.max) throw new UsageError(positionals.message);
    return args;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`lwm2m-gen: ${e.message}`);
    io.err(text());
    return 2;
  }
}

const DIFF_HELP: HelpSpec = {
  usage: 'lwm2m-gen diff OLD NEW [options]',
  description: 'What changed between two versions of LwM2M objects (DDF files or folders, objects matched by id), whom it breaks, and every generated name that changes with it.',
  options: [
    { name: 'json', kind: 'boolean', describe: 'Print the changes as JSON on stdout' },
    { name: 'allow-breaking', kind: 'boolean', describe: 'Exit 0 even when a change is breaking' },
    HELP,
  ],
  notes: ['Exit codes: 0 no breaking change (or --allow-breaking), 1 breaking changes or invalid input, 2 usage.'],
};

const CHECK_EXTENSIONS_HELP: HelpSpec = {
  usage: 'lwm2m-gen --check-extensions [tsconfig] [options]',
  description: 'Checks the classes that extend generated base classes against the generated code as it is now (default tsconfig: ./tsconfig.json).',
  options: [
    { name: 'previous', kind: 'strings', value: 'OLD', describe: 'DDF file or folder of the version the code was written for, for exact renames (repeatable)' },
    { name: 'include', kind: 'strings', value: 'GLOB', describe: 'Only check files matching the glob, relative to the current folder (repeatable; default all)' },
    { name: 'exclude', kind: 'strings', value: 'GLOB', describe: 'Do not check files matching the glob (repeatable)' },
    { name: 'json', kind: 'boolean', describe: 'Print the findings as JSON on stdout' },
    HELP,
  ],
  notes: [
    `A comment containing ${ALLOW_OUT_OF_RANGE} on a literal's line or the line before marks an out-of-range value as deliberate (a test that a setter refuses it).`,
    'Exit codes: 0 nothing to change, 1 findings, 2 usage.',
  ],
};

/**
 * `lwm2m-gen diff OLD NEW [--json] [--allow-breaking]`: OLD and NEW are DDF files or folders, objects matched by id.
 * Exit codes: 0 no breaking change (or --allow-breaking), 1 breaking changes or invalid input, 2 usage.
 */
export async function diffMain(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const r = parse(argv, DIFF_HELP, { min: 2, max: 2, message: 'give two versions: lwm2m-gen diff OLD NEW' }, io);
  if (typeof r === 'number') return r;
  const [oldPath, newPath] = r.positional;
  const oldSide = loadObjects([oldPath!]);
  const newSide = loadObjects([newPath!]);
  const errors = [...oldSide.diagnostics, ...newSide.diagnostics].filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    for (const d of errors) io.err(formatDiagnostic(d));
    io.err(`lwm2m-gen diff: ${errors.length} error${errors.length === 1 ? '' : 's'} in the input; nothing compared`);
    return 1;
  }
  const result = diffObjects(oldSide.objects, newSide.objects);
  const breaking = result.changes.some((c) => c.breaks.length > 0);
  const code = breaking && !r.flags.get('allow-breaking') === true ? 1 : 0;
  if (r.flags.get('json') === true) {
    io.out(JSON.stringify({ old: oldPath, new: newPath, breaking, ...result }, null, 2));
    return code;
  }
  for (const c of result.changes) io.out(formatChange(c));
  const n = result.changes.length;
  io.out(n === 0
    ? 'lwm2m-gen diff: no changes'
    : `lwm2m-gen diff: ${n} change${n === 1 ? '' : 's'}: ${result.breakingDevice} breaking for device apps, ${result.breakingServer} breaking for servers, ${result.compatible} compatible`
      + (breaking && r.flags.get('allow-breaking') === true ? ' (allowed)' : ''));
  return code;
}

/**
 * `lwm2m-gen --check-extensions [tsconfig] [--previous OLD] [--include GLOB] [--exclude GLOB] [--json]`: checks the user classes that extend generated
 * base classes against the generated code as it is now. Exit codes: 0 nothing to change, 1 findings, 2 usage.
 * ts-morph is loaded here, on demand, so plain generation never pays for it.
 */
export async function checkExtensionsMain(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const rest = argv.filter((a) => a !== '--check-extensions');
  const r = parse(rest, CHECK_EXTENSIONS_HELP, { min: 0, max: 1, message: 'give at most one tsconfig.json' }, io);
  if (typeof r === 'number') return r;
  const tsconfig = r.positional[0] ?? 'tsconfig.json';
  const include = stringsFlag(r, 'include');
  const exclude = stringsFlag(r, 'exclude');
  const previousInputs = stringsFlag(r, 'previous');
  let previous;
  if (previousInputs.length > 0) {
    const loaded = loadObjects(previousInputs);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      for (const d of errors) io.err(formatDiagnostic(d));
      return 1;
    }
    previous = loaded.objects.map((o) => o.model);
  }
  const { checkExtensions, formatFinding } = await import('./extensions.js');
  let result;
  try {
    result = checkExtensions({ tsconfig, include, exclude, ...(previous ? { previous } : {}) });
  } catch (e) {
    io.err(`lwm2m-gen --check-extensions: ${(e as Error).message}`);
    return 1;
  }
  if (r.flags.get('json') === true) io.out(JSON.stringify(result, null, 2));
  else {
    for (const f of result.findings) io.out(formatFinding(f));
    const n = result.findings.length;
    const allowed = result.allowed > 0 ? `, ${result.allowed} deliberate out-of-range value${result.allowed === 1 ? '' : 's'} allowed by ${ALLOW_OUT_OF_RANGE}` : '';
    io.out(`lwm2m-gen --check-extensions: ${result.files} file${result.files === 1 ? '' : 's'}, ${result.classes} class${result.classes === 1 ? '' : 'es'} extending generated code checked${allowed}, ${n === 0 ? 'nothing to change' : `${n} finding${n === 1 ? '' : 's'}`}`);
  }
  return result.findings.length > 0 ? 1 : 0;
}
