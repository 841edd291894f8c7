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

/** Element and attribute names as the DDF schema uses them: [A-Za-z_][\w.:-]*. */
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a || c === 0x2d;
}
/** The end of the name that starts at `i`, or `i` when none does. */
function nameEnd(text: string, i: number): number {
  if (!isNameStart(text.charCodeAt(i))) return i;
  let j = i + 1;
  while (isNameChar(text.charCodeAt(j))) j++;
  return j;
}
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
const ATTRIBUTE = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;

/**
 * An element: while open it collects where its character data lies; its text is built on first use, so the
 * whitespace between the children of container elements (Object, Resources, Item) is never copied.
 */
class Element implements XmlElement {
  readonly children: XmlElement[] = [];
  /** Start and end offsets of each piece of text; a CDATA section's start is stored as -(start + 1). */
  readonly parts: number[] = [];
  #text: string | undefined;
  constructor(
    readonly source: string,
    readonly name: string,
    readonly attributes: Readonly<Record<string, string>>,
    readonly pos: SourcePosition,
  ) {}

  get text(): string {
    if (this.#text === undefined) {
      let t = '';
      for (let k = 0; k < this.parts.length; k += 2) {
        const start = this.parts[k]!;
        const piece = lineEnds(this.source.slice(start < 0 ? -start - 1 : start, this.parts[k + 1]));
        t += start < 0 ? piece : decodeEntities(piece);
      }
      this.#text = t;
    }
    return this.#text;
  }
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Scans a document into its root elements. Returns undefined at the first thing a well-formed DDF document does not
 * contain (a stray `<`, a mismatched or unclosed element, text outside the root, a DTD): the caller then runs a
 * validator that says exactly what is wrong. The text has no BOM.
 */
export function scanXml(text: string): XmlElement[] | undefined {
  const roots: XmlElement[] = [];
  const stack: Element[] = [];
  let top: Element | undefined;
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i) {
      if (top) top.parts.push(i, end);
      else if (text.slice(i, end).trim() !== '') return undefined;
    }
    if (lt < 0) break;
    const c = text.charCodeAt(lt + 1);
    if (c === 0x2f /* / */) {
      const e = nameEnd(text, lt + 2);
      if (!top || e - (lt + 2) !== top.name.length || !text.startsWith(top.name, lt + 2)) return undefined;
      let k = e;
      while (isSpace(text.charCodeAt(k))) k++;
      if (text.charCodeAt(k) !== 0x3e /* > */) return undefined;
      const done = stack.pop()!;
      top = stack[stack.length - 1];
      if (top) top.children.push(done);
      else roots.push(done);
      i = k + 1;
    } else if (c === 0x21 /* ! */) {
      if (text.startsWith('!--', lt + 1)) {
        const e = text.indexOf('-->', lt + 4);
        if (e < 0) return undefined;
        i = e + 3;
      } else if (text.startsWith('![CDATA[', lt + 1)) {
        const e = text.indexOf(']]>', lt + 9);
        if (e < 0 || !top) return undefined;
        top.parts.push(-(lt + 9) - 1, e);
        i = e + 3;
      } else return undefined;
    } else if (c === 0x3f /* ? */) {
      const e = text.indexOf('?>', lt + 2);
      if (e < 0) return undefined;
      i = e + 2;
    } else {
      const e = nameEnd(text, lt + 1);
      if (e === lt + 1) return undefined;
      const name = text.slice(lt + 1, e);
      let attributes: Record<string, string> = NO_ATTRIBUTES;
      let k = e;
      if (isSpace(text.charCodeAt(k))) {
        for (;;) {
          ATTRIBUTE.lastIndex = k;
          const a = ATTRIBUTE.exec(text);
          if (!a) break;
          if (attributes === NO_ATTRIBUTES) attributes = {};
          attributes[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '');
          k = ATTRIBUTE.lastIndex;
        }
        while (isSpace(text.charCodeAt(k))) k++;
      }
      const selfClosing = text.charCodeAt(k) === 0x2f;
      if (selfClosing) k++;
      if (text.charCodeAt(k) !== 0x3e /* > */) return undefined;
      // Lines are counted once, only up to where each element starts.
      for (let nl = text.indexOf('\n', counted); nl >= 0 && nl < lt; nl = text.indexOf('\n', nl + 1)) {
        line++;
        lineStart = nl + 1;
      }
      counted = lt;
      const el = new Element(text, name, attributes, { line, col: lt - lineStart + 1 });
      if (selfClosing) {
        if (top) top.children.push(el);
        else roots.push(el);
      } else {
        stack.push(el);
        top = el;
      }
      i = k + 1;
    }
  }
  return stack.length === 0 ? roots : undefined;
}
