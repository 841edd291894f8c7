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
  it('warns when two resources make one member name, naming both lines and the names they get', () => {
    const f = t.write('dupname.xml', ddf({ items: [item({ id: 1, name: 'Name' }), item({ id: 4, name: 'name' })] }));
    const r = loadObjects([f]);
    const d = r.diagnostics.filter((x) => x.rule === 'resource-name-duplicate');
    expect(d).toHaveLength(1);
    expect(d[0]!.severity).toBe('warning');
    expect(d[0]!.line).toBe(17);
    expect(d[0]!.message).toBe('resource 4 "name" and resource 1 "Name" (line 13) make the same member name name; resource 1 keeps it, resource 4 becomes name_4');
  });
  it('unknown operations are one error, with no guess about the type', () => {
    const r = loadObjects([t.write('ops.xml', ddf({ items: [item({ id: 1, ops: 'RE', type: '' })] }))]);
    expect(r.diagnostics.map((x) => `${x.severity}:${x.rule}`)).toEqual(['error:resource-operations']);
    expect(r.diagnostics[0]!.message).toBe('resource 1: Operations must be R, W, RW, E or empty, not "RE"');
    const none = loadObjects([t.write('noops.xml', ddf({ items: [item({ id: 1, ops: '', type: '' })] }))]);
    expect(none.diagnostics.map((x) => x.message)).toEqual(['resource 1 has no operations but no type; treated as Opaque']);
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
