// The handlebars templates of generated files: precompiled at build time (dist/), compiled from templates/ otherwise.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Template = (view: unknown) => string;

/** The files of templates/: whole templates by name; partials are the files whose name starts with `_`. */
export const TEMPLATE_NAMES = ['object.ts', 'index.ts', 'object.md', 'docs-index.md'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * Compile options, the same at build time and at run time. Templates escape nothing themselves (noEscape): every
 * DDF string reaches them already escaped by the view.
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

interface HandlebarsLike {
  create(): HandlebarsLike;
  template(spec: unknown): Template;
  compile(source: string, options: object): Template;
  registerPartial(name: string, partial: unknown): void;
}

const require = createRequire(import.meta.url);
const PRECOMPILED = join(dirname(fileURLToPath(import.meta.url)), 'templates.compiled.cjs');

function load(): Record<TemplateName, Template> {
  const out = {} as Record<TemplateName, Template>;
  if (existsSync(PRECOMPILED)) {
    // Built: the template functions exist already; only handlebars' small runtime is loaded.
    const specs = require(PRECOMPILED) as Record<string, unknown>;
    // An environment of its own: the partials never leak into another user of handlebars in the process.
    const H = (require('handlebars/runtime') as HandlebarsLike).create();
    for (const [name, spec] of Object.entries(specs)) if (name.startsWith('_')) H.registerPartial(name.slice(1), H.template(spec));
    for (const name of TEMPLATE_NAMES) out[name] = H.template(specs[name]);
    return out;
  }
  const H = (require('handlebars') as HandlebarsLike).create();
  const sources = templateSources();
  for (const [name, text] of sources) if (name.startsWith('_')) H.registerPartial(name.slice(1), H.compile(text, COMPILE_OPTIONS));
  for (const name of TEMPLATE_NAMES) out[name] = H.compile(sources.get(name)!, COMPILE_OPTIONS);
  return out;
}

let loaded: Record<TemplateName, Template> | undefined;

/** The templates, loaded once per process. */
export function templates(): Record<TemplateName, Template> {
  loaded ??= load();
  return loaded;
}
