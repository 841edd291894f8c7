// The DDF scanner: the same trees as fast-xml-parser on every registry file, and a refusal for what is not well formed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeEntities, scanXml, type XmlElement } from '../../generator/xml-scan.js';
import { LineIndex } from '../../generator/xml.js';

const corpus = process.env['LWM2M_CORPUS'] ?? join(process.cwd(), '..', 'shared', 'oma-registry', 'current');
const files = [
  ...readdirSync('registry').filter((f) => f.endsWith('.xml')).map((f) => join('registry', f)),
  ...(existsSync(corpus) ? readdirSync(corpus).filter((f) => f.endsWith('.xml')).map((f) => join(corpus, f)) : []),
];

/** The reference: fast-xml-parser's ordered tree with positions, as the generator read it before the scanner. */
const META = XMLParser.getMetaDataSymbol() as unknown as symbol;
const parser = new XMLParser({
  preserveOrder: true, captureMetaData: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false,
  parseAttributeValue: false, trimValues: false, processEntities: false, ignoreDeclaration: true, ignorePiTags: true, cdataPropName: '#cdata',
});
type Raw = Record<string, unknown> & { ':@'?: Record<string, string> };
function reference(node: Raw, lines: LineIndex): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (name === undefined || name.startsWith('#') || name.startsWith('?')) return undefined;
  const meta = (node as Record<symbol, { startIndex?: number } | undefined>)[META];
  const children: XmlElement[] = [];
  let text = '';
  for (const c of node[name] as Raw[]) {
    if ('#text' in c) text += decodeEntities(String(c['#text']));
    else if ('#cdata' in c) text += (c['#cdata'] as Array<{ '#text': string }>).map((t) => t['#text']).join('');
    else {
      const el = reference(c, lines);
      if (el) children.push(el);
    }
  }
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(node[':@'] ?? {})) attributes[k] = decodeEntities(String(v));
  return { name, attributes, children, text, pos: lines.at(meta?.startIndex ?? 0) };
}

/** The element trees as plain data (the scanner builds text on first use). */
const plain = (es: readonly XmlElement[] | undefined): unknown =>
  es?.map((e) => ({ name: e.name, attributes: { ...e.attributes }, children: plain(e.children), text: e.text, pos: e.pos }));

describe('scanXml', () => {
  it.each(files.length > 0 ? [files.length] : [])('reads all %i registry files exactly as fast-xml-parser does', () => {
    for (const f of files) {
      const raw = readFileSync(f, 'utf8');
      const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      const expected = (parser.parse(text) as Raw[]).map((n) => reference(n, new LineIndex(text))).filter((e) => e !== undefined);
      expect({ f, tree: plain(scanXml(text)) }).toEqual({ f, tree: plain(expected) });
    }
  });

  it('reads attributes, CDATA (not entity-decoded), comments, processing instructions and self-closing elements', () => {
    const tree = plain(scanXml(`<?xml version="1.0"?>\n<!-- c -->\n<A x="1 &amp; 2" y='>'>a &lt;b&gt;<![CDATA[<&amp;>]]><!-- in --><B/>\n  <C z="3">t</C></A>\n`));
    expect(tree).toEqual([{
      name: 'A', attributes: { x: '1 & 2', y: '>' }, text: 'a <b><&amp;>\n  ', pos: { line: 3, col: 1 },
      children: [
        { name: 'B', attributes: {}, children: [], text: '', pos: { line: 3, col: 65 } },
        { name: 'C', attributes: { z: '3' }, children: [], text: 't', pos: { line: 4, col: 3 } },
      ],
    }]);
  });

  it.each([
    ['<A><B></A></B>', 'mismatched'],
    ['<A><B></B>', 'unclosed at the end'],
    ['<A>x < y</A>', 'a stray <'],
    ['text<A/>', 'text outside the root'],
    ['<A x=1/>', 'an unquoted attribute'],
    ['<A><!-- open </A>', 'an unclosed comment'],
    ['<A><![CDATA[ x </A>', 'an unclosed CDATA section'],
    ['</A>', 'a close without an open'],
  ])('refuses %s (%s), where the validator also does', (xml) => {
    expect(scanXml(xml)).toBeUndefined();
    expect(XMLValidator.validate(xml)).not.toBe(true);
  });

  it('gives several roots back, for the caller to refuse', () => {
    expect(scanXml('<A/><B/>')?.map((e) => e.name)).toEqual(['A', 'B']);
  });
});
