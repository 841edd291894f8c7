import { loadObjects } from '../../generator/generate.js';
import { ddf, item, tempDir } from './helpers.js';

describe('validation rules', () => {
  const t = tempDir('validate');
  afterAll(() => t.cleanup());
  const check = (text: string) => loadObjects([t.write(`v${Math.random().toString(36).slice(2)}.xml`, text)]).diagnostics.map((d) => `${d.severity}:${d.rule}`);

  it('accepts a clean object', () => {
    expect(check(ddf())).toEqual([]);
  });
  it.each([
    [ddf({ id: 70000, urn: 'urn:oma:lwm2m:x:70000' }), 'error:object-id-range'],
    [ddf({ id: 1500, urn: 'urn:oma:lwm2m:oma:1500' }), 'error:object-id-reserved'],
    [ddf({ id: 40000, urn: 'urn:oma:lwm2m:x:40000' }), 'error:object-id-reserved'],
    [ddf({ id: 5, urn: 'urn:oma:lwm2m:x:5' }), 'error:urn-label'],
    [ddf({ id: 26242, urn: 'urn:oma:lwm2m:x:26243' }), 'error:urn-id'],
    [ddf({ id: 26242, urn: 'urn:lwm2m:26242' }), 'error:urn-format'],
    [ddf({ version: '1.1', urn: 'urn:oma:lwm2m:x:26242:1.0' }), 'warning:urn-version'],
    [ddf({ version: 'one', urn: 'urn:oma:lwm2m:x:26242' }), 'error:version-format'],
    [ddf({ items: [item({ id: 70000 })] }), 'error:resource-id-range'],
    [ddf({ items: [item({ id: 1, type: 'Boolean', range: '0..5' })] }), 'warning:range-type'],
  ])('flags %#', (text, expected) => {
    expect(check(text)).toContain(expected);
  });
  it('reports duplicate object ids across files, naming both', () => {
    const a = t.write('dup/a.xml', ddf({ name: 'First' }));
    t.write('dup/b.xml', ddf({ name: 'Second' }));
    const r = loadObjects([a.replace(/a\.xml$/, '')]);
    const d = r.diagnostics.find((x) => x.rule === 'object-id-duplicate')!;
    expect(d.file).toMatch(/b\.xml$/);
    expect(d.message).toMatch(/a\.xml:6/);
    expect(d.line).toBe(6);
  });
  it('turns warnings into errors with strict', () => {
    const f = t.write('strict.xml', ddf({ items: [item({ id: 1, range: 'some text' })] }));
    expect(loadObjects([f]).diagnostics.map((d) => d.severity)).toEqual(['warning']);
    expect(loadObjects([f], { strict: true }).diagnostics.map((d) => d.severity)).toEqual(['error']);
  });
});
