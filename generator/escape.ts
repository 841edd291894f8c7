// Escaping of DDF text that lands in generated code or comments, so XML content can never become code.

/** A TypeScript string literal for any text: JSON quoting plus the line separators JSON leaves raw. */
export function jsString(text: string): string {
  const quoted = JSON.stringify(text);
  return LINE_SEPARATORS.test(quoted) ? quoted.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029') : quoted;
}
const LINE_SEPARATORS = /[\u2028\u2029]/;

/** A character commentText may change; most DDF text has none, and then it is returned as it is (one class scan). */
const COMMENT_UNSAFE = /[*/@\u0000-\u001f\u007f\u0085\u2028\u2029]/;

/**
 * Text for a line of a block comment: no comment terminator, no line breaks of any kind (each source line is
 * emitted as its own comment line by the caller), no TSDoc tag injection at the start of a word.
 */
export function commentText(text: string): string {
  if (!COMMENT_UNSAFE.test(text)) return text;
  return text
    .replace(/\*\//g, '*\\/')
    .replace(/\/\*/g, '/\\*')
    .replace(/[\u2028\u2029\u0085]/g, ' ')
    .replace(/(^|\s)@/g, '$1\\@')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/** Splits description text into comment lines: CRLF, literal "\n" sequences and real newlines all break lines. */
export function commentLines(text: string | undefined): string[] {
  if (!text) return [];
  const lines = text.replace(/\\n/g, '\n').split(/\r\n|\r|\n|\u2028|\u2029/).map((l) => commentText(l.trimEnd()));
  while (lines.length && lines[0]!.trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  // Collapse runs of blank lines so comments stay compact.
  return lines.filter((l, i) => l.trim() !== '' || (lines[i - 1] ?? '').trim() !== '');
}

/** Text for a Markdown table cell: pipes escaped, one line, HTML-looking text neutralized. */
export function markdownCell(text: string | undefined): string {
  if (!text) return '';
  return text.replace(/\\n/g, ' ').replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
