// The lwm2m-gen command line: arguments, exit codes (0 ok, 1 invalid input or stale output, 2 usage), one summary line.
import yargs from 'yargs';
import { formatDiagnostic } from './diagnostics.js';
import { checkExtensionsMain, diffMain } from './diff-cli.js';
import { generate, type GenerateResult } from './generate.js';
import { GENERATOR_VERSION } from './version.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

class UsageError extends Error {}

function summary(r: GenerateResult, check: boolean, ms: number): string {
  const warnings = r.diagnostics.filter((d) => d.severity === 'warning').length;
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  const counts = `${r.objects} object${r.objects === 1 ? '' : 's'}, ${r.resources} resources`;
  const w = `${warnings} warning${warnings === 1 ? '' : 's'}`;
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
  // Sub-commands of their own: comparing versions, and checking user classes against regenerated bases.
  if (argv[0] === 'diff') return diffMain(argv.slice(1), io);
  // The fleet simulator loads only when asked for: plain generation never pays for the runtime.
  if (argv[0] === 'fleet') return (await import('../fleet/cli.js')).fleetMain(argv.slice(1));
  if (argv.includes('--check-extensions')) return checkExtensionsMain(argv, io);
  const started = performance.now();
  const parser = yargs([...argv])
    .scriptName('lwm2m-gen')
    .command('$0 [files..]', 'Generate typed TypeScript classes from OMA LwM2M object definitions (DDF XML files or folders)', (y) =>
      y.positional('files', { type: 'string', array: true, describe: 'DDF XML files, or folders of them' }))
    .option('out', { alias: 'o', type: 'string', default: 'generated', describe: 'Output folder for the generated modules' })
    .option('check', { type: 'boolean', default: false, describe: 'Write nothing; exit 1 when the output on disk differs' })
    .option('docs', { type: 'string', describe: 'Also write a Markdown reference per object into this folder' })
    .option('strict', { type: 'boolean', default: false, describe: 'Treat warnings as errors' })
    .option('json', { type: 'boolean', default: false, describe: 'Print diagnostics and the summary as JSON on stdout' })
    .option('runtime-import', { type: 'string', default: 'lwm2m-gen/runtime', describe: 'Module specifier generated code imports the runtime from' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print errors only, no warnings' })
    .example('$0 registry/*.xml', 'generate generated/ from the project\'s objects')
    .example('$0 registry/*.xml --check', 'fail when generated/ is not what registry/ makes')
    .example('$0 diff old/ registry/', 'what changed between two versions of objects, and what it breaks')
    .example('$0 --check-extensions tsconfig.json', 'check classes extending generated bases against the current output')
    .strict()
    .version(GENERATOR_VERSION)
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'invalid arguments');
    });
  let args: Awaited<ReturnType<typeof parser.parseAsync>>;
  let helpText = '';
  try {
    let printed = '';
    args = await parser.parseAsync([...argv], {}, (_err, _argv, output) => {
      printed = output;
    });
    helpText = printed;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`lwm2m-gen: ${e.message}`);
      io.err(await parser.getHelp());
      return 2;
    }
    throw e;
  }
  if (helpText) {
    io.out(helpText);
    return 0;
  }
  const inputs = ((args['files'] as Array<string | number> | undefined) ?? []).map(String);
  if (inputs.length === 0) {
    io.err('lwm2m-gen: no input files; give DDF XML files or folders (e.g. lwm2m-gen registry/*.xml)');
    io.err(await parser.getHelp());
    return 2;
  }
  const result = generate({
    inputs,
    outDir: args.out,
    check: args.check,
    strict: args.strict,
    runtimeImport: args['runtime-import'],
    ...(args.docs !== undefined ? { docsDir: args.docs } : {}),
  });
  const ms = Math.round(performance.now() - started);
  if (args.json) {
    io.out(JSON.stringify({
      ok: result.ok,
      objects: result.objects,
      resources: result.resources,
      files: result.files,
      written: result.written,
      outOfDate: result.outOfDate ? [...result.outOfDate.changed, ...result.outOfDate.stale] : [],
      diagnostics: result.diagnostics,
    }, null, 2));
    return result.ok ? 0 : 1;
  }
  for (const d of result.diagnostics) {
    if (d.severity === 'error' || !args.quiet) io.err(formatDiagnostic(d));
  }
  if (result.outOfDate) {
    for (const f of result.outOfDate.changed) io.err(`${f}: differs from what the generator makes`);
    for (const f of result.outOfDate.stale) io.err(`${f}: generated file with no source any more`);
  }
  io.out(summary(result, args.check, ms));
  return result.ok ? 0 : 1;
}
