// The generator pipeline: read → parse → validate → name → emit → (check | write), with every diagnostic collected.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { ObjectModel } from '../runtime/model.js';
import { sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { emitFiles } from './emit.js';
import { nameObjects } from './names.js';
import { parseDdf, type ParsedObject } from './parse.js';
import { defaultUrn, validateObject, validateUniqueObjects } from './validate.js';
import { diffOutput, foreignFiles, writeOutput, type OutputDiff, type WritePlan } from './write.js';
import { GENERATOR_NAME, GENERATOR_VERSION } from './version.js';

export interface GenerateOptions {
  /** DDF files, or folders whose *.xml files are all read. */
  readonly inputs: readonly string[];
  readonly outDir: string;
  readonly docsDir?: string;
  readonly check?: boolean;
  readonly strict?: boolean;
  readonly runtimeImport?: string;
}

export interface GenerateResult {
  readonly ok: boolean;
  readonly diagnostics: Diagnostic[];
  readonly objects: number;
  readonly resources: number;
  readonly files: number;
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
  /** With check: what differs on disk. */
  readonly outOfDate?: OutputDiff;
  /** .ts and .md files in an output folder without the generator's header: the run refuses to touch the folder. */
  readonly foreign: readonly string[];
}

const noDefinitions = (input: string, why: string): Diagnostic =>
  ({ file: input, line: 1, col: 1, severity: 'error', rule: 'input-empty', message: `no object definitions in ${input} (${why})` });

function expandInputs(inputs: readonly string[], diagnostics: Diagnostic[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = statSync(input).isDirectory();
    } catch (e) {
      // A glob the shell left as it was (nothing matched) is an empty input, not an unreadable file.
      if (/[*?[]/.test(input)) diagnostics.push(noDefinitions(input, 'the pattern matched no file'));
      else diagnostics.push({ file: input, line: 1, col: 1, severity: 'error', rule: 'io-read', message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    if (isDir) {
      const xml = readdirSync(input).filter((n) => n.toLowerCase().endsWith('.xml')).sort();
      if (xml.length === 0) diagnostics.push(noDefinitions(input, 'the folder has no .xml file'));
      for (const name of xml) files.push(join(input, name));
    } else files.push(input);
  }
  // Input order never changes the output: files are read in path order.
  return [...new Set(files)].sort();
}

/** Parses and validates DDF files without generating anything; the diff command and tests use this too. */
export function loadObjects(inputs: readonly string[], options: { strict?: boolean } = {}): { objects: ParsedObject[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const parsed: ParsedObject[] = [];
  for (const file of expandInputs(inputs, diagnostics)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      diagnostics.push({ file, line: 1, col: 1, severity: 'error', rule: 'io-read', message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    const r = parseDdf(text, file);
    diagnostics.push(...r.diagnostics);
    for (const o of r.objects) {
      diagnostics.push(...validateObject(o));
      parsed.push(o.model.urn === '' ? { ...o, model: { ...o.model, urn: defaultUrn(o.model) } } : o);
    }
  }
  diagnostics.push(...validateUniqueObjects(parsed));
  if (parsed.length === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push(noDefinitions(inputs.join(' '), 'no <Object> element in any file'));
  }
  const all = options.strict ? diagnostics.map((d) => (d.severity === 'warning' ? { ...d, severity: 'error' as const } : d)) : diagnostics;
  return { objects: parsed, diagnostics: sortDiagnostics(all) };
}

export function generate(options: GenerateOptions): GenerateResult {
  const { objects, diagnostics } = loadObjects(options.inputs, options);
  const failed = diagnostics.some((d) => d.severity === 'error');
  const resources = objects.reduce((n, o) => n + o.model.resources.length, 0);
  const base = { diagnostics, objects: objects.length, resources, written: 0, unchanged: 0, removed: 0, foreign: [] };
  if (failed) return { ok: false, files: 0, ...base };

  const outDir = resolve(options.outDir);
  const sources = new Map<number, string>();
  // One relative path per source folder, not per file: a run over the registry has one folder.
  const folders = new Map<string, string>();
  for (const o of objects) {
    const file = resolve(o.source.file);
    const dir = dirname(file);
    let rel = folders.get(dir);
    if (rel === undefined) folders.set(dir, (rel = relative(outDir, dir).split('\\').join('/')));
    sources.set(o.model.id, rel === '' ? basename(file) : `${rel}/${basename(file)}`);
  }
  const models: ObjectModel[] = objects.map((o) => o.model);
  const { code, docs } = emitFiles({
    objects: nameObjects(models),
    sources,
    gen: { name: GENERATOR_NAME, version: GENERATOR_VERSION, runtimeImport: options.runtimeImport ?? 'lwm2m-gen/runtime' },
    docs: options.docsDir !== undefined,
  });
  const plans: WritePlan[] = [{ dir: outDir, files: code }];
  if (options.docsDir !== undefined) {
    const docsDir = resolve(options.docsDir);
    // One folder for both: one plan, or each would take the other's files for stale ones.
    if (docsDir === outDir) plans[0] = { dir: outDir, files: new Map([...code, ...docs]) };
    else plans.push({ dir: docsDir, files: docs });
  }
  const files = code.size + docs.size;
  // Before anything is written or compared: a file the generator did not write is never replaced or deleted.
  const foreign = plans.flatMap(foreignFiles);
  if (foreign.length > 0) return { ...base, ok: false, files, foreign };

  if (options.check) {
    const diffs = plans.map(diffOutput);
    const outOfDate: OutputDiff = {
      changed: diffs.flatMap((d) => d.changed),
      stale: diffs.flatMap((d) => d.stale),
      unchanged: diffs.reduce((n, d) => n + d.unchanged, 0),
    };
    const ok = outOfDate.changed.length === 0 && outOfDate.stale.length === 0;
    return { ...base, ok, files, unchanged: outOfDate.unchanged, outOfDate };
  }
  const w = writeOutput(plans);
  return { ...base, ok: true, files, ...w };
}
