// A one-pass scanner for well-formed DDF XML: elements, attributes, text and CDATA with positions; it never explains errors.
import type { SourcePosition } from './diagnostics.js';

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** Text content (character data and CDATA) with entities decoded, untrimmed. */
  readonly text: string;
  readonly pos: SourcePosition;
}

// Entities are decoded here in one pass: only the five XML entities and character references exist, so nothing
// can expand recursively (an entity bomb has nothing to grow from).
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

/** XML reads every CRLF and lone CR as LF (XML 1.0 §2.11). */
const lineEnds = (s: string): string => (s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s);

/** Element and attribute names as the DDF schema uses them. */
const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /\s*(\/?)>/y;

interface Open {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
  readonly pos: SourcePosition;
}

/**
 * Scans a document into its root elements. Returns undefined at the first thing a well-formed DDF document does not
 * contain (a stray `<`, a mismatched or unclosed element, text outside the root, a DTD): the caller then runs a
 * validator that says exactly what is wrong. The text has no BOM.
 */
export function scanXml(text: string): XmlElement[] | undefined {
  const roots: XmlElement[] = [];
  const stack: Open[] = [];
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  // Lines are counted lazily, only up to where an element starts.
  const posAt = (offset: number): SourcePosition => {
    for (let i = text.indexOf('\n', counted); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    counted = offset;
    return { line, col: offset - lineStart + 1 };
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i) {
      const chunk = lineEnds(text.slice(i, end));
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(chunk);
      else if (chunk.trim() !== '') return undefined;
    }
    if (lt < 0) break;
    const c = text.charCodeAt(lt + 1);
    if (c === 0x2f /* / */) {
      NAME.lastIndex = lt + 2;
      const m = NAME.exec(text);
      const top = stack.pop();
      if (!m || !top || m[0] !== top.name) return undefined;
      TAG_END.lastIndex = lt + 2 + m[0].length;
      const close = TAG_END.exec(text);
      if (!close || close[1] !== '') return undefined;
      const el: XmlElement = { name: top.name, attributes: top.attributes, children: top.children, text: top.text, pos: top.pos };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else roots.push(el);
      i = TAG_END.lastIndex;
    } else if (c === 0x21 /* ! */) {
      if (text.startsWith('!--', lt + 1)) {
        const e = text.indexOf('-->', lt + 4);
        if (e < 0) return undefined;
        i = e + 3;
      } else if (text.startsWith('![CDATA[', lt + 1)) {
        const e = text.indexOf(']]>', lt + 9);
        const top = stack[stack.length - 1];
        if (e < 0 || !top) return undefined;
        top.text += lineEnds(text.slice(lt + 9, e));
        i = e + 3;
      } else return undefined;
    } else if (c === 0x3f /* ? */) {
      const e = text.indexOf('?>', lt + 2);
      if (e < 0) return undefined;
      i = e + 2;
    } else {
      NAME.lastIndex = lt + 1;
      const m = NAME.exec(text);
      if (!m) return undefined;
      const attributes: Record<string, string> = {};
      let at = lt + 1 + m[0].length;
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const a = ATTRIBUTE.exec(text);
        if (!a) break;
        attributes[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '');
        at = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = at;
      const close = TAG_END.exec(text);
      if (!close) return undefined;
      const pos = posAt(lt);
      if (close[1] === '/') {
        const el: XmlElement = { name: m[0], attributes, children: [], text: '', pos };
        const parent = stack[stack.length - 1];
        if (parent) parent.children.push(el);
        else roots.push(el);
      } else stack.push({ name: m[0], attributes, children: [], text: '', pos });
      i = TAG_END.lastIndex;
    }
  }
  return stack.length === 0 ? roots : undefined;
}
