import { parseDdf } from '../../generator/parse.js';
import { ddf, item } from './helpers.js';

const rules = (text: string) => parseDdf(text, 'x.xml').diagnostics.map((d) => `${d.severity}:${d.rule}:${d.line}`);

describe('parseDdf', () => {
  it('reads an object and its resources, sorted by id', () => {
    const r = parseDdf(ddf({ items: [item({ id: 2, name: 'B', ops: 'RW', type: 'String', range: '0..10 bytes', units: 'x' }), item({ id: 1, name: 'A', ops: 'E' })] }), 'x.xml');
    expect(r.diagnostics).toEqual([]);
    const m = r.objects[0]!.model;
    expect(m).toMatchObject({ id: 26242, name: 'Test Object', objectVersion: '1.0', lwm2mVersion: '1.1', multiple: false });
    expect(m.resources.map((x) => [x.id, x.name, x.type, x.operations])).toEqual([[1, 'A', 'none', 'E'], [2, 'B', 'String', 'RW']]);
    expect(m.resources[1]).toMatchObject({ range: { kind: 'length', min: 0, max: 10 }, units: 'x' });
  });
  it('is tolerant of BOM, CRLF, no declaration, CDATA, out-of-order children and missing optional elements', () => {
    const text = '\uFEFF' + ddf().replace(/^<\?xml[^>]*>\n/, '').replace(/\n/g, '\r\n')
      .replace('<Description1>A test object.</Description1>', '<Description1><![CDATA[Uses <b>tags</b> & "quotes" */]]></Description1>')
      .replace(/<LWM2MVersion>1.1<\/LWM2MVersion>\r\n<ObjectVersion>1.0<\/ObjectVersion>/, '')
      .replace('<Type>Integer</Type><RangeEnumeration></RangeEnumeration>', '<RangeEnumeration>0-100</RangeEnumeration><Type>Integer</Type>');
    const r = parseDdf(text, 'x.xml');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(rules(text)).toContain('warning:ddf-schema-order:13');
    const m = r.objects[0]!.model;
    expect(m.description).toBe('Uses <b>tags</b> & "quotes" */');
    expect(m.objectVersion).toBe('1.0');
    expect(m.lwm2mVersion).toBe('1.0');
    expect(m.resources[0]!.range).toMatchObject({ kind: 'interval', min: 0, max: 100 });
  });
  it('treats empty version elements as 1.0', () => {
    const r = parseDdf(ddf().replace('<ObjectVersion>1.0</ObjectVersion>', '<ObjectVersion></ObjectVersion>'), 'x.xml');
    expect(r.objects[0]!.model.objectVersion).toBe('1.0');
  });
  it('reports unknown enumerated values with the line of the element', () => {
    const text = ddf({ items: [item({ id: 0, ops: 'RX', type: 'Integr' }), item({ id: 0 })] }).replace('<MultipleInstances>Single</MultipleInstances>\n<Mandatory>Optional</Mandatory>\n<Resources>', '<MultipleInstances>Many</MultipleInstances>\n<Mandatory>Maybe</Mandatory>\n<Resources>');
    expect(rules(text)).toEqual(expect.arrayContaining([
      'error:ddf-multiple-instances:10', 'error:ddf-mandatory:11', 'error:resource-operations:13', 'error:resource-type:15', 'error:resource-id-duplicate:17',
    ]));
  });
  it('accepts executables with no type and warns when one declares a type', () => {
    expect(rules(ddf({ items: [item({ id: 0, ops: 'E', type: 'Integer' })] }))).toEqual(['warning:resource-executable-type:15']);
    expect(rules(ddf({ items: [item({ id: 0, ops: 'R', type: '' })] }))).toEqual(['warning:resource-type-missing:15']);
  });
  it.each([
    ['an empty file', '', 'xml-empty', 1],
    ['whitespace only', '  \n ', 'xml-empty', 1],
    ['binary junk', '<LWM2M>\n\u0000\u0001\u0002</LWM2M>', 'xml-binary', 2],
    ['an unclosed element', '<LWM2M>\n<Object>\n<Name>x</Object>\n</LWM2M>', 'xml-malformed', 3],
    ['a truncated file', ddf().slice(0, 300), 'xml-malformed', 0],
    ['a wrong root', '<?xml version="1.0"?>\n<Objects><Object/></Objects>', 'ddf-root', 2],
    ['two roots', '<LWM2M></LWM2M>\n<LWM2M></LWM2M>', 'xml-root', 2],
    ['an external entity', '<?xml version="1.0"?>\n<!DOCTYPE LWM2M [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<LWM2M>&x;</LWM2M>', 'xml-doctype', 2],
  ])('refuses %s with a line number', (_what, text, rule, line) => {
    const r = parseDdf(text, 'bad.xml');
    const d = r.diagnostics.find((x) => x.severity === 'error');
    expect(d?.rule).toBe(rule);
    expect(d?.file).toBe('bad.xml');
    if (line) expect(d?.line).toBe(line);
    else {
      expect(d!.line).toBeGreaterThan(1);
      expect(d!.message).toMatch(/still open.*truncated/);
    }
  });
  it('cannot be made to expand an entity bomb', () => {
    const bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<LWM2M>&lol3;</LWM2M>';
    const started = Date.now();
    const r = parseDdf(bomb, 'bomb.xml');
    expect(r.diagnostics[0]?.rule).toBe('xml-doctype');
    expect(Date.now() - started).toBeLessThan(5000);
  });
  it('decodes only the predefined entities and character references, once', () => {
    const r = parseDdf(ddf({ items: [item({ id: 0, description: '&lt;7 to &#62;12 &amp;#60; &#x41;' })] }), 'x.xml');
    expect(r.objects[0]!.model.resources[0]!.description).toBe('<7 to >12 &#60; A');
  });
});
