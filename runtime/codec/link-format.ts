// CoRE link-format (RFC 6690, content format 40): the link lists of Register payloads and Discover responses.
import { BadRequestError } from '../errors.js';

/** One link: a target URI and its attributes in order; a value of undefined is a bare attribute (`;obs`). */
export interface Link {
  readonly target: string;
  readonly attributes: ReadonlyArray<readonly [string, string | number | undefined]>;
}

/** RFC 6690 parmname: attribute names are tokens (RFC 8288 token characters; `*` for the `title*` form). */
const PARMNAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Values written without quotes: numbers, as LwM2M writes pmin=10, ver=1.2, ct=110. */
const BARE_VALUE = /^-?\d+(\.\d+)?$/;
/** What a parsed unquoted value may contain: RFC 6690 ptoken characters. */
const PTOKEN = /^[A-Za-z0-9!#$%&'()*+\-.:<=>?@[\]^_`{|}~/]+$/;

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Formats links as `</3/0>;ver=1.2,</3/0/1>;pmin=10`. Numbers, and strings that are numbers, go bare; other
 * strings are quoted (`rt="oma.lwm2m"`), so a round trip through parseLinks keeps every value.
 */
export function formatLinks(links: readonly Link[]): string {
  const out: string[] = [];
  for (const link of links) {
    if (/[<>]/.test(link.target)) throw new BadRequestError(`link target ${JSON.stringify(link.target)} cannot contain "<" or ">"`);
    let s = `<${link.target}>`;
    for (const [name, value] of link.attributes) {
      if (!PARMNAME.test(name)) throw new BadRequestError(`${JSON.stringify(name)} is not a link attribute name`);
      if (value === undefined) s += `;${name}`;
      else if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new BadRequestError(`attribute ${name} has the non-finite value ${value}`);
        s += `;${name}=${value}`;
      } else s += `;${name}=${BARE_VALUE.test(value) ? value : quote(value)}`;
    }
    out.push(s);
  }
  return out.join(',');
}

/**
 * Parses a link list. Quoted values come back as strings (unescaped), unquoted integers as numbers, other
 * unquoted values (`ver=1.2`, `b=UQ`) as strings, bare attributes as undefined. Whitespace (including line
 * breaks) around links and separators is tolerated; anything else malformed is a BadRequestError.
 */
export function parseLinks(text: string): Link[] {
  const links: Link[] = [];
  let pos = 0;
  const fail = (what: string): never => {
    throw new BadRequestError(`malformed link-format at offset ${pos}: ${what}`);
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  ws();
  if (pos === text.length) return links;
  for (;;) {
    ws();
    if (text[pos] !== '<') fail('expected "<"');
    const close = text.indexOf('>', pos + 1);
    if (close < 0) fail('unterminated "<"');
    const target = text.slice(pos + 1, close);
    if (target.includes('<')) fail('"<" inside a target');
    pos = close + 1;
    const attributes: Array<readonly [string, string | number | undefined]> = [];
    for (;;) {
      ws();
      if (text[pos] !== ';') break;
      pos++;
      ws();
      const start = pos;
      while (pos < text.length && !/[=;,\s]/.test(text[pos]!)) pos++;
      const name = text.slice(start, pos);
      if (!PARMNAME.test(name)) fail(`${JSON.stringify(name)} is not an attribute name`);
      ws();
      if (text[pos] !== '=') {
        attributes.push([name, undefined]);
        continue;
      }
      pos++;
      ws();
      if (text[pos] === '"') {
        let value = '';
        pos++;
        for (;;) {
          if (pos >= text.length) fail('unterminated quoted value');
          const c = text[pos++]!;
          if (c === '"') break;
          if (c === '\\') {
            if (pos >= text.length) fail('unterminated quoted value');
            value += text[pos++]!;
          } else value += c;
        }
        attributes.push([name, value]);
      } else {
        const vs = pos;
        while (pos < text.length && !/[;,\s]/.test(text[pos]!)) pos++;
        const raw = text.slice(vs, pos);
        if (!PTOKEN.test(raw)) fail(`attribute ${name} has an empty or invalid value`);
        attributes.push([name, /^-?\d{1,15}$/.test(raw) ? Number(raw) : raw]);
      }
    }
    links.push({ target, attributes });
    ws();
    if (pos === text.length) return links;
    if (text[pos] !== ',') fail('expected "," or ";"');
    pos++;
  }
}
