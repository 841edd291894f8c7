// The `lwm2m-gen diff` and `lwm2m-gen --check-extensions` commands, as functions the main CLI dispatches to.
import yargs from 'yargs';
import { formatDiagnostic } from './diagnostics.js';
import { diffObjects, formatChange } from './diff.js';
import { loadObjects } from './generate.js';

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: CommandIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

class UsageError extends Error {}

/** The part of a yargs parser these commands use; their option types are read back from `args` by name. */
interface Parser {
  parseAsync(args: string[], ctx: object, cb: (err: unknown, argv: unknown, output: string) => void): Promise<Record<string, unknown>>;
  getHelp(): Promise<string>;
}

async function parse(built: unknown, argv: readonly string[], io: CommandIo): Promise<{ args: Record<string, unknown> } | { code: number }> {
  const parser = built as Parser;
  let printed = '';
  try {
    const args = await parser.parseAsync([...argv], {}, (_e, _a, output) => {
      printed = output;
    });
    if (printed) {
      io.out(printed);
      return { code: 0 };
    }
    return { args };
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`lwm2m-gen: ${e.message}`);
      io.err(await parser.getHelp());
      return { code: 2 };
    }
    throw e;
  }
}

const fail = (msg: string, err: Error | undefined): never => {
  throw new UsageError(msg || err?.message || 'invalid arguments');
};

/**
 * `lwm2m-gen diff OLD NEW [--json] [--allow-breaking]`: OLD and NEW are DDF files or folders, objects matched by id.
 * Exit codes: 0 no breaking change (or --allow-breaking), 1 breaking changes or invalid input, 2 usage.
 */
export async function diffMain(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const r = await parse(yargs([...argv])
    .scriptName('lwm2m-gen diff')
    .usage('$0 OLD NEW\n\nWhat changed between two versions of LwM2M objects (DDF files or folders), and whom it breaks.')
    .option('json', { type: 'boolean', default: false, describe: 'Print the changes as JSON on stdout' })
    .option('allow-breaking', { type: 'boolean', default: false, describe: 'Exit 0 even when a change is breaking' })
    .demandCommand(2, 2, 'give two versions: lwm2m-gen diff OLD NEW', 'give two versions: lwm2m-gen diff OLD NEW')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail(fail), argv, io);
  if ('code' in r) return r.code;
  const [oldPath, newPath] = (r.args['_'] as Array<string | number>).map(String);
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
  const code = breaking && !r.args['allow-breaking'] ? 1 : 0;
  if (r.args['json']) {
    io.out(JSON.stringify({ old: oldPath, new: newPath, breaking, ...result }, null, 2));
    return code;
  }
  for (const c of result.changes) io.out(formatChange(c));
  const n = result.changes.length;
  io.out(n === 0
    ? 'lwm2m-gen diff: no changes'
    : `lwm2m-gen diff: ${n} change${n === 1 ? '' : 's'}: ${result.breakingDevice} breaking for device apps, ${result.breakingServer} breaking for servers, ${result.compatible} compatible`
      + (breaking && r.args['allow-breaking'] ? ' (allowed)' : ''));
  return code;
}

/**
 * `lwm2m-gen --check-extensions [tsconfig] [--previous OLD] [--json]`: checks the user classes that extend generated
 * base classes against the generated code as it is now. Exit codes: 0 nothing to change, 1 findings, 2 usage.
 * ts-morph is loaded here, on demand, so plain generation never pays for it.
 */
export async function checkExtensionsMain(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const rest = argv.filter((a) => a !== '--check-extensions');
  const r = await parse(yargs([...rest])
    .scriptName('lwm2m-gen --check-extensions')
    .command('$0 [tsconfig]', 'Checks classes that extend generated base classes against the generated code as it is now', (y) =>
      y.positional('tsconfig', { type: 'string', describe: 'The project\'s tsconfig.json (default ./tsconfig.json)' }))
    // Not an array option: that would swallow a tsconfig given after it; repeat --previous for several inputs.
    .option('previous', { type: 'string', describe: 'DDF file or folder of the version the code was written for (exact renames); repeatable' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the findings as JSON on stdout' })
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail(fail), rest, io);
  if ('code' in r) return r.code;
  const tsconfig = typeof r.args['tsconfig'] === 'string' ? r.args['tsconfig'] : 'tsconfig.json';
  const given = r.args['previous'] as string | string[] | undefined;
  const previousInputs = given === undefined ? [] : Array.isArray(given) ? given : [given];
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
    result = checkExtensions({ tsconfig, ...(previous ? { previous } : {}) });
  } catch (e) {
    io.err(`lwm2m-gen --check-extensions: ${(e as Error).message}`);
    return 1;
  }
  if (r.args['json']) io.out(JSON.stringify(result, null, 2));
  else {
    for (const f of result.findings) io.out(formatFinding(f));
    const n = result.findings.length;
    io.out(`lwm2m-gen --check-extensions: ${result.classes} class${result.classes === 1 ? '' : 'es'} extending generated code checked, ${n === 0 ? 'nothing to change' : `${n} finding${n === 1 ? '' : 's'}`}`);
  }
  return result.findings.length > 0 ? 1 : 0;
}
