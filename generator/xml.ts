// XML reading for DDF files: the one-pass scanner for well-formed input; fast-xml-parser's validator explains the rest.
import { createRequire } from 'node:module';
import type { DiagnosticSink, SourcePosition } from './diagnostics.js';
import { scanXml, type XmlElement } from './xml-scan.js';

export { decodeEntities, type XmlElement } from './xml-scan.js';

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

/**
 * Parses one XML document into an element tree. Reports malformed input (empty, binary, unclosed or
 * truncated elements, DTDs, no root or several roots) to the sink with its line, and returns undefined then.
 */
export function parseXml(source: string, sink: DiagnosticSink): XmlElement | undefined {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (text.trim() === '') {
    sink.error('xml-empty', 'the file is empty; expected an <LWM2M> document');
    return undefined;
  }
  let index: LineIndex | undefined;
  // Lines are indexed only when a diagnostic needs one.
  const lines = { at: (offset: number): SourcePosition => (index ??= new LineIndex(text)).at(offset) };
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
  const roots = scanXml(text);
  // Well-formed input (every real registry file) takes one pass; only what the scanner refuses pays for the
  // validator, whose messages carry the line and column of the problem.
  if (roots === undefined) {
    if (!reportMalformed(text, lines, sink)) sink.error('xml-malformed', 'malformed XML: an element is not closed or a "<" is not escaped');
    return undefined;
  }
  if (roots.length !== 1) {
    sink.error('xml-root', roots.length === 0 ? 'no root element' : `expected one root element, found ${roots.length}`, roots[1]?.pos);
    return undefined;
  }
  return roots[0];
}

const require = createRequire(import.meta.url);

/** Runs the strict validator and reports its finding; false when it finds nothing to say. */
function reportMalformed(text: string, lines: Pick<LineIndex, 'at'>, sink: DiagnosticSink): boolean {
  // Loaded only here: a run over valid files never loads the parser.
  const { XMLValidator } = require('fast-xml-parser') as typeof import('fast-xml-parser');
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
