// A small strict JSON parser that keeps numbers as their source text, so 64-bit integers survive (JSON.parse rounds them).
import { BadRequestError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';

/** A JSON number as written; the caller converts it per the resource type. */
export class JsonNumber {
  constructor(readonly text: string) {}
}
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

/** Nesting beyond this is no SenML document; the limit keeps hostile input from exhausting the stack. */
const MAX_DEPTH = 16;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function parseJson(text: string, path: Lwm2mPath | undefined): JsonValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new BadRequestError(`malformed JSON at offset ${pos}: ${what}`, path);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
      else return;
    }
  };
  const str = (): string => {
    // pos is at the opening quote; find the end honouring escapes, then let JSON.parse unescape exactly.
    const start = pos++;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 34) break;
      if (c === 92) pos++;
      else if (c < 32) fail('control character in string');
      pos++;
    }
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail('bad escape in string');
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: { [key: string]: JsonValue } = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a member name');
        const key = str();
        ws();
        if (text[pos++] !== ':') fail('expected ":"');
        const v = value(depth + 1);
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate member "${key}"`);
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        const d = text[pos++];
        if (d === '}') return obj;
        if (d !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const arr: JsonValue[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text[pos++];
        if (d === ']') return arr;
        if (d !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    pos += m[0].length;
    return new JsonNumber(m[0]);
  };
  const v = value(0);
  ws();
  if (pos !== text.length) fail('trailing characters');
  return v;
}
