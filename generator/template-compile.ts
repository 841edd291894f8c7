// Compiles the generator's handlebars templates (as handlebars parses them) to plain JavaScript functions; refuses what they do not use.

/** The parts of handlebars' AST the compiler reads (handlebars' own parse() produces them, whitespace already stripped). */
interface PathNode { readonly type: 'PathExpression'; readonly data: boolean; readonly depth: number; readonly parts: readonly string[]; readonly original: string }
interface ProgramNode { readonly type: 'Program'; readonly body: readonly StatementNode[] }
type StatementNode =
  | { readonly type: 'ContentStatement'; readonly value: string }
  | { readonly type: 'CommentStatement' }
  | { readonly type: 'MustacheStatement'; readonly path: ExpressionNode; readonly params: readonly ExpressionNode[]; readonly hash?: unknown }
  | { readonly type: 'BlockStatement'; readonly path: ExpressionNode; readonly params: readonly ExpressionNode[]; readonly hash?: unknown; readonly program?: ProgramNode; readonly inverse?: ProgramNode }
  | { readonly type: 'PartialStatement'; readonly name: ExpressionNode; readonly params: readonly ExpressionNode[]; readonly hash?: unknown };
type ExpressionNode = PathNode | { readonly type: string; readonly original?: unknown };

export type ParseTemplate = (source: string) => unknown;

/** What the compiled function needs at run time: a value printed as handlebars prints it, and its truthiness. */
export const TEMPLATE_RUNTIME = `const $s = (v) => (v == null ? '' : String(v));
const $t = (v) => !!v && !(Array.isArray(v) && v.length === 0);`;

class Unsupported extends Error {}

/** One scope of the compiled code: the JS variable holding each context (innermost first) and the innermost loop. */
interface Scope {
  readonly contexts: readonly string[];
  readonly loop?: { readonly index: string; readonly length: string };
}

/**
 * Compiles one template to the source of a JavaScript function `(context, partials) => string`. Supported: text,
 * `{{path}}` and `{{{path}}}` (printed raw: the generator's views arrive escaped), `this`, `../`, `a.b`, `a.[0]`,
 * `@index`, `@first`, `@last`, `@root`, `{{#each}}` over arrays, `{{#if}}`, `{{#unless}}` with `{{else}}`, partials
 * `{{> name}}` and `{{> name context}}`, comments. Anything else throws, naming it.
 */
export function compileTemplate(source: string, parse: ParseTemplate, name = 'template'): string {
  let n = 0;
  const fresh = (p: string) => `${p}${n++}`;
  const fail = (what: string): never => {
    throw new Unsupported(`templates/${name}.hbs: ${what} is not supported by the template compiler`);
  };

  const path = (e: ExpressionNode, s: Scope): string => {
    if (e.type !== 'PathExpression') return fail(`the expression ${JSON.stringify(e.original ?? e.type)}`);
    const p = e as PathNode;
    if (p.data) {
      const [head, ...rest] = p.parts;
      if (head === 'root' && rest.length === 0) return 'root';
      if (!s.loop || rest.length > 0) return fail(`@${p.parts.join('.')} outside an {{#each}}`);
      if (head === 'index') return s.loop.index;
      if (head === 'first') return `(${s.loop.index} === 0)`;
      if (head === 'last') return `(${s.loop.index} === ${s.loop.length} - 1)`;
      return fail(`@${head}`);
    }
    const base = s.contexts[p.depth] ?? fail(`${p.original} (no context that far up)`);
    return p.parts.reduce((code, part) => `${code}[${JSON.stringify(part)}]`, base);
  };

  const program = (prog: ProgramNode | undefined, s: Scope, out: string[]): void => {
    for (const st of prog?.body ?? []) statement(st, s, out);
  };

  const statement = (st: StatementNode, s: Scope, out: string[]): void => {
    switch (st.type) {
      case 'ContentStatement':
        if (st.value !== '') out.push(`o += ${JSON.stringify(st.value)};`);
        return;
      case 'CommentStatement':
        return;
      case 'MustacheStatement':
        if (st.params.length > 0 || st.hash) fail(`the helper call {{${(st.path as PathNode).original} …}}`);
        out.push(`o += $s(${path(st.path, s)});`);
        return;
      case 'PartialStatement': {
        if (st.hash || st.params.length > 1) fail('a partial with a hash or several arguments');
        const partial = (st.name as PathNode).original;
        const ctx = st.params[0] ? path(st.params[0], s) : s.contexts[0]!;
        out.push(`o += partials[${JSON.stringify(partial)}](${ctx}, partials, root);`);
        return;
      }
      case 'BlockStatement': {
        const helper = (st.path as PathNode).original;
        if (st.hash || st.params.length !== 1) fail(`{{#${helper}}} with ${st.params.length} arguments or a hash`);
        const arg = path(st.params[0]!, s);
        if (helper === 'if' || helper === 'unless') {
          const [yes, no] = helper === 'if' ? [st.program, st.inverse] : [st.inverse, st.program];
          const y: string[] = [];
          const f: string[] = [];
          program(yes, s, y);
          program(no, s, f);
          if (y.length === 0) out.push(`if (!$t(${arg})) {`, ...f, '}');
          else out.push(`if ($t(${arg})) {`, ...y, ...(f.length > 0 ? ['} else {', ...f] : []), '}');
          return;
        }
        if (helper === 'each') {
          const list = fresh('l');
          const index = fresh('i');
          const length = fresh('n');
          const item = fresh('c');
          const body: string[] = [];
          program(st.program, { contexts: [item, ...s.contexts], loop: { index, length } }, body);
          const empty: string[] = [];
          program(st.inverse, s, empty);
          out.push(
            `{ const ${list} = ${arg};`,
            `if (${list} != null && !Array.isArray(${list})) throw new TypeError('{{#each}} over a value that is not an array');`,
            `const ${length} = ${list} == null ? 0 : ${list}.length;`,
            `for (let ${index} = 0; ${index} < ${length}; ${index}++) { const ${item} = ${list}[${index}];`,
            ...body,
            '}',
            ...(empty.length > 0 ? [`if (${length} === 0) {`, ...empty, '}'] : []),
            '}',
          );
          return;
        }
        fail(`the block helper {{#${helper}}}`);
        return;
      }
      default:
        fail(`a ${(st as { type: string }).type}`);
    }
  };

  const out: string[] = [];
  program(parse(source) as ProgramNode, { contexts: ['c'] }, out);
  return `function (c, partials, root = c) {\nlet o = '';\n${out.join('\n')}\nreturn o;\n}`;
}
