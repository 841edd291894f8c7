// The handlebars templates of generated files as functions: compiled at build time (dist/), from templates/ otherwise.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileTemplate, TEMPLATE_RUNTIME, type ParseTemplate } from './template-compile.js';

export type Template = (view: unknown) => string;

/** The files of templates/: whole templates by name; partials are the files whose name starts with `_`. */
export const TEMPLATE_NAMES = ['object.ts', 'index.ts', 'object.md', 'docs-index.md'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * How handlebars itself would compile the templates, for comparing with ours (tests): templates escape nothing
 * themselves (noEscape), every DDF string reaches them already escaped by the view.
 */
export const COMPILE_OPTIONS = { noEscape: true, assumeObjects: true, knownHelpersOnly: true, preventIndent: true } as const;

/** The templates/ folder; works from the sources (generator/) and from the build (dist/generator/). */
export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'templates');
    if (existsSync(join(candidate, 'object.ts.hbs'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('lwm2m-gen: the templates/ folder is missing from the installation');
}

/** Every template and partial source, by name without `.hbs`. */
export function templateSources(dir = templatesDir()): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.hbs')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    // A partial is used inside a line: its leading comment line and its final newline are not part of it.
    out.set(f.slice(0, -4), f.startsWith('_') ? text.replace(/^\{\{!--[^]*?--\}\}\n/, '').replace(/\n$/, '') : text);
  }
  return out;
}

const require = createRequire(import.meta.url);
const PRECOMPILED = join(dirname(fileURLToPath(import.meta.url)), 'templates.compiled.cjs');

type Compiled = (view: unknown, partials: Readonly<Record<string, unknown>>, root?: unknown) => string;

/**
 * The source of a CommonJS module holding every template and partial as a plain function (what the build writes):
 * `{ templates: { name: fn }, partials: { name: fn } }`.
 */
export function compiledModule(parse: ParseTemplate, dir = templatesDir()): string {
  const entries = [...templateSources(dir)].map(([name, text]) => `  ${JSON.stringify(name)}: ${compileTemplate(text, parse, name)},`);
  return `'use strict';\n${TEMPLATE_RUNTIME}\nmodule.exports = {\n${entries.join('\n')}\n};\n`;
}

function load(): Record<TemplateName, Template> {
  let fns: Record<string, Compiled>;
  if (existsSync(PRECOMPILED)) {
    // Built: the templates are plain functions already; no handlebars at all.
    fns = require(PRECOMPILED) as Record<string, Compiled>;
  } else {
    // From the sources: handlebars parses, the same compiler turns the trees into functions.
    const { parse } = require('handlebars') as { parse: ParseTemplate };
    const src = compiledModule(parse);
    const mod = { exports: {} as Record<string, Compiled> };
    new Function('module', src)(mod);
    fns = mod.exports;
  }
  const partials: Record<string, Compiled> = {};
  for (const [name, fn] of Object.entries(fns)) if (name.startsWith('_')) partials[name.slice(1)] = fn;
  const out = {} as Record<TemplateName, Template>;
  for (const name of TEMPLATE_NAMES) {
    const fn = fns[name];
    if (!fn) throw new Error(`lwm2m-gen: the template ${name}.hbs is missing`);
    out[name] = (view) => fn(view, partials);
  }
  return out;
}

let loaded: Record<TemplateName, Template> | undefined;

/** The templates, loaded once per process. */
export function templates(): Record<TemplateName, Template> {
  loaded ??= load();
  return loaded;
}
