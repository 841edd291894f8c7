// The templates as functions render byte for byte what handlebars renders from them; partials sit inside a line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { loadObjects } from '../../generator/generate.js';
import { nameObjects } from '../../generator/names.js';
import { compileTemplate } from '../../generator/template-compile.js';
import { COMPILE_OPTIONS, TEMPLATE_NAMES, templateSources, templates } from '../../generator/templates.js';
import { objectView } from '../../generator/view.js';

const corpus = process.env['LWM2M_CORPUS'] ?? join(process.cwd(), '..', 'shared', 'oma-registry', 'current');

describe('templates', () => {
  it('partials lose their leading comment line and final newline, so they sit inside a line', () => {
    const sources = templateSources();
    for (const [name, text] of sources) {
      if (!name.startsWith('_')) continue;
      expect({ name, multiline: text.includes('\n'), comment: text.includes('{{!--') }).toEqual({ name, multiline: false, comment: false });
    }
    expect([...sources.keys()].filter((n) => !n.startsWith('_')).sort()).toEqual([...TEMPLATE_NAMES].sort());
  });

  it('render exactly what handlebars renders, for every object of the registry and the OMA corpus', () => {
    const env = Handlebars.create();
    const sources = templateSources();
    for (const [name, text] of sources) if (name.startsWith('_')) env.registerPartial(name.slice(1), env.compile(text, COMPILE_OPTIONS));
    const reference = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, env.compile(sources.get(n)!, COMPILE_OPTIONS)]));
    const ours = templates();
    const gen = { name: 'lwm2m-gen', version: '0.1.0', runtimeImport: 'lwm2m-gen/runtime' };
    const { objects } = loadObjects(['registry', ...(existsSync(corpus) ? [corpus] : [])]);
    const views = nameObjects(objects.map((x) => x.model)).map((o) => objectView(o, 'x.xml', gen, true));
    for (const v of views) {
      for (const name of ['object.ts', 'object.md'] as const) expect({ id: v.objectId, name, text: ours[name](v) }).toEqual({ id: v.objectId, name, text: reference[name]!(v) });
    }
    const index = { header: ['h1', 'h2'], modules: views };
    for (const name of ['index.ts', 'docs-index.md'] as const) expect(ours[name](index)).toBe(reference[name]!(index));
  }, 60_000);

  it('refuses what it does not compile, naming the template', () => {
    for (const t of ['{{lookup a b}}', '{{#with a}}x{{/with}}', '{{#each a b}}{{/each}}', '{{@index}}', '{{> p a b}}', '{{../x}}']) {
      expect(() => compileTemplate(t, Handlebars.parse, 'bad')).toThrow(/^templates\/bad\.hbs: .* is not supported by the template compiler$/);
    }
  });

  it('follows handlebars on truthiness, @first/@last, ../ through {{#if}}, {{else}} of {{#each}}', () => {
    const t = '{{#each xs}}{{#if ok}}{{../name}}{{/if}}{{#if @first}}<{{/if}}{{this.v}}{{#unless @last}},{{/unless}}{{else}}none{{/each}}|{{#if zero}}z{{/if}}{{#if empty}}e{{/if}}';
    const fn = new Function('$s', '$t', `return ${compileTemplate(t, Handlebars.parse)}`)(
      (v: unknown) => (v == null ? '' : String(v)), (v: unknown) => !!v && !(Array.isArray(v) && v.length === 0)) as (c: unknown, p: object) => string;
    const hb = Handlebars.compile(t, COMPILE_OPTIONS);
    for (const data of [{ name: 'N', xs: [{ ok: true, v: 1 }, { ok: false, v: false }, { v: 0 }], zero: 0, empty: [] }, { name: 'N', xs: [], zero: 0, empty: [] }]) {
      expect(fn(data, {})).toBe(hb(data));
    }
  });
});
