// RangeEnumeration text → typed Range: intervals, lengths, enumerations with labels, or unparsed text with a reason.
import type { Bound, EnumMember, Range, ResourceType } from '../runtime/model.js';

export interface RangeResult {
  readonly range?: Range;
  /** Why the text was not (fully) understood or contradicts the type; reported as a warning. */
  readonly problem?: { readonly rule: string; readonly message: string };
}

const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const INTERVAL = new RegExp(String.raw`^(${NUM})\s*(?:\.{2,3}|to|–|:)\s*(${NUM})$`, 'i');
const HYPHEN_INTERVAL = new RegExp(String.raw`^(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)$`);
const BRACKET = new RegExp(String.raw`^\[\s*(${NUM})\s*[:,]\s*(${NUM})\s*\]$`);
const SINGLE = new RegExp(String.raw`^(${NUM})$`);
const BITS = /^(\d+)\s*-?\s*bits?$/i;
const BYTES_SUFFIX = /\s*(?:bytes?|octets?|characters?|chars?)$/i;
const LABELLED = /^\s*([-+]?\d+)\s*(?::|=|-(?=\s))\s*(.*?)\s*$/;

function toBound(text: string): Bound | undefined {
  const t = text.replace(/^\+/, '');
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : BigInt(t);
  }
  const f = Number(t);
  return Number.isFinite(f) ? f : undefined;
}

const isInteger = (b: Bound): boolean => typeof b === 'bigint' || Number.isInteger(b);

interface Item {
  readonly min: Bound;
  readonly max: Bound;
  readonly label?: string;
  /** True for a bare number (as opposed to an interval spelled N..N). */
  readonly single?: boolean;
}

/** One numeric item: a number, an interval in any of the registry's spellings, or a bit width. */
function parseItem(text: string, type: ResourceType): Item | undefined {
  const t = text.trim();
  let m = SINGLE.exec(t);
  if (m) {
    const b = toBound(m[1]!);
    return b === undefined ? undefined : { min: b, max: b, single: true };
  }
  m = INTERVAL.exec(t) ?? BRACKET.exec(t) ?? HYPHEN_INTERVAL.exec(t);
  if (m) {
    const a = toBound(m[1]!);
    const b = toBound(m[2]!);
    return a === undefined || b === undefined ? undefined : { min: a, max: b };
  }
  m = BITS.exec(t);
  if (m) {
    const bits = BigInt(m[1]!);
    if (bits < 1n || bits > 64n) return undefined;
    const umax = 2n ** bits - 1n;
    // A bit width on a signed Integer is read both ways in the registry (some authors mean unsigned);
    // the range admits both readings rather than refuse values either author intended.
    const min = type === 'Integer' ? -(2n ** (bits - 1n)) : 0n;
    return { min: normalize(min), max: normalize(umax) };
  }
  return undefined;
}

function normalize(b: bigint): Bound {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** Splits a list on commas, semicolons and " or "; a single item stays one. */
function splitList(text: string): string[] {
  return text.split(/\s*(?:,|;|\bor\b)\s*/i).map((s) => s.trim()).filter((s) => s !== '');
}

function lengthRange(items: readonly Item[], text: string): RangeResult {
  if (!items.every((i) => isInteger(i.min) && isInteger(i.max) && i.min >= 0)) {
    return { problem: { rule: 'range-unparsed', message: `length range "${text}" needs non-negative whole numbers; kept as text` } };
  }
  const nums = items.map((i) => ({ min: Number(i.min), max: Number(i.max) }));
  if (nums.length === 1) {
    const { min, max } = nums[0]!;
    if (min > max) return { problem: { rule: 'range-inverted', message: `length range "${text}" has its minimum above its maximum; kept as text` } };
    // A bare number on a String or Opaque is read as its maximum length, the registry's common usage;
    // a fixed size is spelled N..N.
    return { range: { kind: 'length', min: items[0]!.single ? 0 : min, max, text } };
  }
  if (nums.every((n) => n.min === n.max)) {
    const values = [...new Set(nums.map((n) => n.min))].sort((a, b) => a - b);
    return { range: { kind: 'length', min: values[0]!, max: values[values.length - 1]!, values, text } };
  }
  return { problem: { rule: 'range-unparsed', message: `length range "${text}" mixes intervals; kept as text` } };
}

function labelled(text: string): Item[] | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length < 2) return undefined;
  const items: Item[] = [];
  for (const line of lines) {
    const m = LABELLED.exec(line);
    if (m) {
      const v = toBound(m[1]!);
      if (v === undefined) return undefined;
      items.push(m[2] ? { min: v, max: v, label: m[2] } : { min: v, max: v });
      continue;
    }
    const plain = SINGLE.exec(line.replace(/,$/, ''));
    if (!plain) return undefined;
    const v = toBound(plain[1]!);
    if (v === undefined) return undefined;
    items.push({ min: v, max: v });
  }
  return items;
}

const unparsed = (text: string, rule: string, message: string): RangeResult => ({
  range: { kind: 'unparsed', text },
  problem: { rule, message },
});

/** Reads a RangeEnumeration for a resource of the given type. Empty text gives no range and no problem. */
export function parseRange(raw: string, type: ResourceType): RangeResult {
  const text = raw.replace(/\u00a0/g, ' ').trim();
  if (text === '') return {};
  const oneLine = text.replace(/\s+/g, ' ');
  if (type === 'none') return unparsed(oneLine, 'range-type', `an executable resource has no value, so range "${oneLine}" means nothing`);
  if (type === 'Boolean' || type === 'Objlnk') {
    return unparsed(oneLine, 'range-type', `range "${oneLine}" does not apply to a ${type} resource; ignored`);
  }

  const isLength = type === 'String' || type === 'Opaque' || type === 'Corelnk';
  const lab = labelled(text);
  if (lab) {
    if (isLength) return unparsed(oneLine, 'range-type', `a numeric enumeration does not apply to a ${type} resource; ignored`);
    return enumOrInterval(lab, oneLine, type);
  }

  const stripped = oneLine.replace(BYTES_SUFFIX, '');
  const hadUnit = stripped !== oneLine;
  const parts = splitList(stripped);
  const items = parts.map((p) => parseItem(p, type));
  if (items.every((i): i is Item => i !== undefined) && items.length > 0) {
    if (isLength) return lengthRange(items, oneLine);
    if (hadUnit && items.length === 1 && items[0]!.min === items[0]!.max && (type === 'Integer' || type === 'Unsigned Integer')) {
      // "2 bytes" on an integer is a width, like "16-bit".
      const bits = Number(items[0]!.min) * 8;
      const width = parseItem(`${bits}-bit`, type);
      if (width) return { range: { kind: 'interval', min: width.min, max: width.max, text: oneLine } };
    }
    return enumOrInterval(items, oneLine, type);
  }
  if (isLength && type === 'String' && parts.length > 1 && parts.every((p) => /^[A-Za-z][\w-]*$/.test(p))) {
    return { range: { kind: 'enum', members: parts.map((p) => ({ value: p })), text: oneLine } };
  }
  return unparsed(oneLine, 'range-unparsed', `range "${oneLine}" is not in a syntax the generator reads; kept as documentation, not enforced`);
}

function enumOrInterval(items: readonly Item[], text: string, type: ResourceType): RangeResult {
  const integral = type === 'Integer' || type === 'Unsigned Integer' || type === 'Time';
  for (const i of items) {
    if (i.min > i.max) return unparsed(text, 'range-inverted', `range "${text}" has a minimum above its maximum; not enforced`);
    if (integral && (!isInteger(i.min) || !isInteger(i.max))) {
      return unparsed(text, 'range-type', `range "${text}" has decimal bounds on an ${type} resource; not enforced`);
    }
    if (type === 'Unsigned Integer' && i.min < 0) {
      return unparsed(text, 'range-type', `range "${text}" has negative values on an Unsigned Integer resource; not enforced`);
    }
    if (integral && (i.min < -(2n ** 63n) || i.max > 2n ** 64n - 1n)) {
      return unparsed(text, 'range-type', `range "${text}" exceeds 64-bit integers; not enforced`);
    }
  }
  if (items.length === 1 && items[0]!.label === undefined && items[0]!.min !== items[0]!.max) {
    return { range: { kind: 'interval', min: items[0]!.min, max: items[0]!.max, text } };
  }
  const members: EnumMember[] = items.map((i) => {
    const m: { value: Bound; to?: Bound; label?: string } = { value: i.min };
    if (i.max !== i.min) m.to = i.max;
    if (i.label !== undefined) m.label = i.label;
    return m;
  });
  return { range: { kind: 'enum', members, text } };
}
