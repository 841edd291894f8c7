// The lwm2m-gen command line: arguments, exit codes (0 ok, 1 invalid input or stale output, 2 usage), one summary line.
import { helpText, parseArgs, UsageError, type OptionSpec } from './args.js';
import { GENERATOR_VERSION } from './version.js';
import type { GenerateResult } from './generate.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** A sub-command: its own arguments (the command word removed), the io, and its exit code. */
type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

/**
 * The one place sub-commands are dispatched. Each is loaded only when it runs, so `--version`, `--help` and plain
 * generation never load ts-morph or the diff code.
 */
const COMMANDS: Readonly<Record<string, { readonly usage: string; readonly describe: string; readonly load: () => Promise<Command> }>> = {
  diff: {
    usage: 'diff OLD NEW',
    describe: 'what changed between two versions of objects (files or folders), and whom it breaks',
    load: async () => (await import('./diff-cli.js')).diffMain,
  },
  init: {
    usage: 'init DIR [--objects ID,…] [--server URI]',
    describe: 'write a new device project: objects, generated classes, device code, a test against the test server',
    load: async () => (await import('./init.js')).initMain,
  },
  // The local LwM2M server with its web UI lives in server/.
  server: {
    usage: 'server [--port 5683] [--ui-port 8080] …',
    describe: 'an LwM2M server (UDP, DTLS-PSK) with a web UI on 127.0.0.1 to drive devices by hand',
    load: async () => (await import('../server/cli.js')).serverMain,
  },
};

/** `--check-extensions` is a flag rather than a word, kept for compatibility; it takes the whole argv. */
const loadCheckExtensions = async (): Promise<Command> => (await import('./diff-cli.js')).checkExtensionsMain;

const OPTIONS: readonly OptionSpec[] = [
  { name: 'out', alias: 'o', kind: 'folder', value: 'DIR', default: 'generated', describe: 'Output folder for the generated modules' },
  { name: 'check', kind: 'boolean', describe: 'Write nothing; exit 1 when the output on disk differs, naming the files' },
  { name: 'docs', kind: 'folder', value: 'DIR', describe: 'Also write a Markdown reference per object into this folder' },
  { name: 'strict', kind: 'boolean', describe: 'Treat warnings as errors' },
  { name: 'json', kind: 'boolean', describe: 'Print diagnostics and the summary as JSON on stdout' },
  { name: 'runtime-import', kind: 'string', value: 'SPEC', default: 'lwm2m-gen/runtime', describe: 'Module specifier generated code imports the runtime from' },
  { name: 'quiet', alias: 'q', kind: 'boolean', describe: 'Print errors only, no warnings' },
  { name: 'version', alias: 'v', kind: 'boolean', describe: 'Print the version and exit' },
  { name: 'help', alias: 'h', kind: 'boolean', describe: 'Print this help and exit' },
];

function help(): string {
  const width = Math.min(100, process.stdout.columns || 100);
  return helpText({
    usage: 'lwm2m-gen [files or folders..] [options]',
    description: 'Generate typed TypeScript classes from OMA LwM2M object definitions (DDF XML files, or folders of them).',
    options: OPTIONS,
    commands: [
      ...Object.values(COMMANDS).map((c) => [`lwm2m-gen ${c.usage}`, c.describe] as const),
      ['lwm2m-gen --check-extensions [tsconfig]', 'check classes extending generated bases against the current output (--include/--exclude GLOB)'],
    ],
    examples: [
      ['lwm2m-gen registry/*.xml', 'generate generated/ from the project\'s objects'],
      ['lwm2m-gen registry/*.xml --check', 'fail when generated/ is not what registry/ makes'],
      ['lwm2m-gen diff old/ registry/', 'what changed between two versions of objects, and what it breaks'],
      ['lwm2m-gen --check-extensions tsconfig.json', 'check classes extending generated bases against the current output'],
    ],
  }, width);
}

function summary(r: GenerateResult, check: boolean, ms: number): string {
  const warnings = r.diagnostics.filter((d) => d.severity === 'warning').length;
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  const counts = `${r.objects} object${r.objects === 1 ? '' : 's'}, ${r.resources} resources`;
  const w = `${warnings} warning${warnings === 1 ? '' : 's'}`;
  if (r.foreign.length > 0) return `lwm2m-gen: ${r.foreign.length} file${r.foreign.length === 1 ? '' : 's'} in the output not written by lwm2m-gen; nothing written (${counts}, ${ms} ms)`;
  if (errors > 0) return `lwm2m-gen: ${errors} error${errors === 1 ? '' : 's'}, ${w}; nothing written (${counts}, ${ms} ms)`;
  if (check) {
    const stale = (r.outOfDate?.changed.length ?? 0) + (r.outOfDate?.stale.length ?? 0);
    return stale === 0
      ? `lwm2m-gen: up to date: ${counts}, ${r.files} files, ${w}, ${ms} ms`
      : `lwm2m-gen: out of date: ${stale} of ${r.files} files differ; run lwm2m-gen without --check (${ms} ms)`;
  }
  const removed = r.removed ? `, ${r.removed} removed` : '';
  return `lwm2m-gen: ${counts}, ${r.files} files (${r.written} written, ${r.unchanged} unchanged${removed}), ${w}, ${ms} ms`;
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const command = argv[0] !== undefined ? COMMANDS[argv[0]] : undefined;
  if (command) return (await command.load())(argv.slice(1), io);
  if (argv.includes('--check-extensions')) return (await loadCheckExtensions())(argv, io);
  const started = performance.now();
  let args;
  try {
    args = parseArgs(argv, OPTIONS);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`lwm2m-gen: ${e.message}`);
    io.err(help());
    return 2;
  }
  const flag = (name: string): boolean => args.flags.get(name) === true;
  const text = (name: string): string | undefined => {
    const v = args.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  if (flag('help')) {
    io.out(help());
    return 0;
  }
  if (flag('version')) {
    io.out(GENERATOR_VERSION);
    return 0;
  }
  if (args.positional.length === 0) {
    io.err('lwm2m-gen: no input files; give DDF XML files or folders (e.g. lwm2m-gen registry/*.xml)');
    io.err(help());
    return 2;
  }
  const { generate } = await import('./generate.js');
  const docs = text('docs');
  const check = flag('check');
  const result = generate({
    inputs: args.positional,
    outDir: text('out') ?? 'generated',
    check,
    strict: flag('strict'),
    runtimeImport: text('runtime-import') ?? 'lwm2m-gen/runtime',
    ...(docs !== undefined ? { docsDir: docs } : {}),
  });
  const ms = Math.round(performance.now() - started);
  if (flag('json')) {
    io.out(JSON.stringify({
      ok: result.ok,
      objects: result.objects,
      resources: result.resources,
      files: result.files,
      written: result.written,
      outOfDate: result.outOfDate ? [...result.outOfDate.changed, ...result.outOfDate.stale] : [],
      foreign: result.foreign,
      diagnostics: result.diagnostics,
    }, null, 2));
    return result.ok ? 0 : 1;
  }
  const { formatDiagnostic } = await import('./diagnostics.js');
  for (const d of result.diagnostics) {
    if (d.severity === 'error' || !flag('quiet')) io.err(formatDiagnostic(d));
  }
  for (const f of result.foreign) io.err(`${f}: not written by lwm2m-gen (no generated header); move it out of the output folder or choose another folder`);
  if (result.outOfDate) {
    for (const f of result.outOfDate.changed) io.err(`${f}: differs from what the generator makes`);
    for (const f of result.outOfDate.stale) io.err(`${f}: generated file with no source any more`);
  }
  io.out(summary(result, check, ms));
  return result.ok ? 0 : 1;
}
