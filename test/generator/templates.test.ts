// Templates precompiled (as the build does) render exactly what templates compiled at run time render; partials are inline.
import Handlebars from 'handlebars';
import { loadObjects } from '../../generator/generate.js';
import { nameObjects } from '../../generator/names.js';
import { COMPILE_OPTIONS, TEMPLATE_NAMES, templateSources, templates } from '../../generator/templates.js';
import { objectView } from '../../generator/view.js';

describe('templates', () => {
  it('partials lose their leading comment line and final newline, so they sit inside a line', () => {
    const sources = templateSources();
    for (const [name, text] of sources) {
      if (!name.startsWith('_')) continue;
      expect({ name, multiline: text.includes('\n'), comment: text.includes('{{!--') }).toEqual({ name, multiline: false, comment: false });
    }
    expect([...sources.keys()].filter((n) => !n.startsWith('_')).sort()).toEqual([...TEMPLATE_NAMES].sort());
  });

  it('precompiled specs (the build step) render byte for byte what run-time compiled templates render', () => {
    const env = Handlebars.create();
    const sources = templateSources();
    // What scripts/precompile-templates.mjs writes, evaluated as the built module would be.
    const spec = (text: string): unknown => new Function(`return ${Handlebars.precompile(text, COMPILE_OPTIONS)};`)();
    for (const [name, text] of sources) if (name.startsWith('_')) env.registerPartial(name.slice(1), env.template(spec(text) as TemplateSpecification));
    const { objects } = loadObjects(['registry']);
    const gen = { name: 'lwm2m-gen', version: '0.1.0', runtimeImport: 'lwm2m-gen/runtime' };
    const t = templates();
    for (const o of nameObjects(objects.map((x) => x.model))) {
      const v = objectView(o, 'x.xml', gen, true);
      for (const name of ['object.ts', 'object.md'] as const) expect(env.template(spec(sources.get(name)!) as TemplateSpecification)(v)).toBe(t[name](v));
    }
  });
});
