// Diagnostics: every problem the generator reports, with its file, line, column and a stable rule id.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly severity: Severity;
  /** Stable id of the rule that fired (see docs/rules.md); tools may match on it. */
  readonly rule: string;
  readonly message: string;
}

/** Where an element of a source file starts. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message} [${d.rule}]`;
}

/** Collects diagnostics for one file; positions default to the file's first line. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  constructor(readonly file: string) {}
  error(rule: string, message: string, at: SourcePosition = { line: 1, col: 1 }): void {
    this.items.push({ file: this.file, line: at.line, col: at.col, severity: 'error', rule, message });
  }
  warning(rule: string, message: string, at: SourcePosition = { line: 1, col: 1 }): void {
    this.items.push({ file: this.file, line: at.line, col: at.col, severity: 'warning', rule, message });
  }
}

/** Sorts diagnostics by file, line, column and rule so output does not depend on discovery order. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)));
}
