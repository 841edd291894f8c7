// XML reading for DDF files: fast-xml-parser underneath, positions for every element, no DTDs and no entity expansion.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { DiagnosticSink, SourcePosition } from './diagnostics.js';

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Text content (character data and CDATA) with entities decoded, untrimmed. */
  readonly text: string;
  readonly pos: SourcePosition;
}

const META = XMLParser.getMetaDataSymbol() as unknown as symbol;

// Entities are decoded here in one pass, never by the parser: only the five XML entities and character
// references exist, so nothing can expand recursively (an entity bomb has nothing to grow from).
const ENTITY = /&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (m, e: string) => {
    if (e[0] !== '#') return NAMED[e] ?? m;
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

/** Maps offsets in a text to 1-based line and column. */
export class LineIndex {
  readonly #starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.#starts.push(i + 1);
  }
  at(offset: number): SourcePosition {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.#starts[lo]! + 1 };
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  captureMetaData: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 64,
  jPath: false,
});

type RawNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const NAME = /^[A-Za-z_][\w.:-]*$/;

/** Set when the tree shows a sign of malformed input, so the strict validator runs to say exactly what. */
interface Suspicion {
  suspect: boolean;
}

function convert(node: RawNode, lines: LineIndex, suspicion: Suspicion): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (name === undefined || name === '#text' || name.startsWith('?') || name === '#comment') return undefined;
  const meta = (node as Record<symbol, { startIndex?: number; endIndex?: number } | undefined>)[META];
  // The parser is lenient: an element it never saw closed has no end, and a stray "<" yields a nameless element.
  if (meta?.endIndex === undefined || !NAME.test(name)) suspicion.suspect = true;
  const raw = node[name] as RawNode[];
  const children: XmlElement[] = [];
  let text = '';
  for (const c of raw) {
    if ('#text' in c) text += String(c['#text']);
    else {
      const el = convert(c, lines, suspicion);
      if (el) children.push(el);
    }
  }
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(node[':@'] ?? {})) attributes[k] = decodeEntities(String(v));
  return { name, attributes, children, text: decodeEntities(text), pos: lines.at(meta?.startIndex ?? 0) };
}

/**
 * Parses one XML document into an element tree. Reports malformed input (empty, binary, unclosed or
 * truncated elements, DTDs, no root or several roots) to the sink with its line, and returns undefined then.
 */
export function parseXml(source: string, sink: DiagnosticSink): XmlElement | undefined {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const lines = new LineIndex(text);
  if (text.trim() === '') {
    sink.error('xml-empty', 'the file is empty; expected an <LWM2M> document');
    return undefined;
  }
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, '0');
    sink.error('xml-binary', `control character U+${code} is not allowed in XML (is this a binary file?)`, lines.at(bad.index));
    return undefined;
  }
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    sink.error('xml-doctype', 'DTDs and entity declarations are not allowed in a DDF file', lines.at(doctype.index));
    return undefined;
  }
  let nodes: RawNode[] | undefined;
  try {
    nodes = parser.parse(text) as RawNode[];
  } catch {
    nodes = undefined;
  }
  const suspicion: Suspicion = { suspect: nodes === undefined };
  const roots = (nodes ?? []).map((n) => convert(n, lines, suspicion)).filter((e): e is XmlElement => e !== undefined);
  if (nodes && nodes.some((n) => '#text' in n && String(n['#text']).trim() !== '')) suspicion.suspect = true;
  // Well-formed input (every real registry file) takes one pass; only suspicious input pays for the validator,
  // whose messages carry the line and column of the problem.
  if (suspicion.suspect && !reportMalformed(text, lines, sink)) {
    sink.error('xml-malformed', 'malformed XML: an element is not closed or a "<" is not escaped');
  }
  if (suspicion.suspect) return undefined;
  if (roots.length !== 1) {
    sink.error('xml-root', roots.length === 0 ? 'no root element' : `expected one root element, found ${roots.length}`, roots[1]?.pos);
    return undefined;
  }
  return roots[0];
}

/** Runs the strict validator and reports its finding; false when it finds nothing to say. */
function reportMalformed(text: string, lines: LineIndex, sink: DiagnosticSink): boolean {
  const valid = XMLValidator.validate(text);
  if (valid === true) return false;
  const e = valid.err;
  const open = /^Invalid '(\[.*\])' found\.$/s.exec(e.msg);
  if (open) {
    // The validator reports elements still open at the end of input at line 1; the problem is at the end.
    let names: string[] = [];
    try {
      names = JSON.parse(open[1]!) as string[];
    } catch {
      names = [];
    }
    const last = names[names.length - 1] ?? '?';
    sink.error('xml-malformed', `malformed XML: the file ends while <${last}> is still open (open: ${names.join(' > ')}); is it truncated?`, lines.at(text.trimEnd().length));
    return true;
  }
  sink.error('xml-malformed', `malformed XML: ${e.msg}`, { line: e.line || 1, col: e.col || 1 });
  return true;
}
