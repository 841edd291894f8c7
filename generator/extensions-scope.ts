// What --check-extensions looks at: files chosen by include/exclude globs, and literals a marker comment exempts.
import type { Node } from 'ts-morph';

/**
 * A comment that says an out-of-range literal is deliberate (a test that the setter refuses it), on the literal's
 * line or on a comment line just before it: `// lwm2m-gen-allow-out-of-range: the setter must refuse 101`.
 */
export const ALLOW_OUT_OF_RANGE = 'lwm2m-gen-allow-out-of-range';

/** Whether the marker is on the node's line, or on a comment line (only a comment) just before it. */
export function hasAllowMarker(node: Node): boolean {
  const text = node.getSourceFile().getFullText();
  const start = node.getStart();
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const lineEnd = text.indexOf('\n', start);
  if (text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd).includes(ALLOW_OUT_OF_RANGE)) return true;
  if (lineStart === 0) return false;
  const previous = text.slice(text.lastIndexOf('\n', lineStart - 2) + 1, lineStart - 1).trim();
  return /^(?:\/\/|\/\*|\*)/.test(previous) && previous.includes(ALLOW_OUT_OF_RANGE);
}

// Path globs: `*` within a folder, `**` across folders, `?` one character.

/** A glob as a regular expression over forward-slash paths relative to the project; `dir/` means everything in it. */
export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/$/, '/**');
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      // `**/` matches no folder or any number of them; a final `**` matches the rest.
      if (g[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Selects paths: included by any `include` glob (all when there is none) and excluded by no `exclude` glob. */
export function pathFilter(include: readonly string[], exclude: readonly string[]): (path: string) => boolean {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return (path) => {
    const p = path.replace(/\\/g, '/');
    return (inc.length === 0 || inc.some((r) => r.test(p))) && !exc.some((r) => r.test(p));
  };
}
