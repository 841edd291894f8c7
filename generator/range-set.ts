// Ranges as sets of values, so "0..8" vs "0-8" is no change and "0..8" → "0..32" is a widening: the algebra diff classifies with.
import type { Bound, EnumMember, Range, ResourceModel, ResourceType } from '../runtime/model.js';

/** How a range moved: every old value still allowed (widened), some old values refused (narrowed), or both. */
export type RangeChange = 'same' | 'widened' | 'narrowed' | 'changed';

type Lo = Bound; // -Infinity allowed
interface Interval { readonly lo: Lo; readonly hi: Lo }

/** Values a range allows, in one of three value spaces; `all` means no restriction in that space. */
type ValueSet =
  | { readonly space: 'numeric'; readonly intervals: readonly Interval[]; readonly integer: boolean }
  | { readonly space: 'length'; readonly intervals: readonly Interval[] }
  | { readonly space: 'strings'; readonly values: ReadonlySet<string> | 'all' }
  | { readonly space: 'text'; readonly text: string };

const lt = (a: Lo, b: Lo): boolean => (a as number) < (b as number);
const le = (a: Lo, b: Lo): boolean => (a as number) <= (b as number);

function typeLimits(type: ResourceType): Interval {
  // Unbounded sides of a range still stop at the type's own limits, so `0..` on an unsigned integer equals no range.
  if (type === 'Unsigned Integer') return { lo: 0, hi: 18446744073709551615n };
  if (type === 'Integer') return { lo: -9223372036854775808n, hi: 9223372036854775807n };
  return { lo: -Infinity, hi: Infinity };
}

function isNumericType(type: ResourceType): boolean {
  return type === 'Integer' || type === 'Unsigned Integer' || type === 'Float' || type === 'Time';
}

function merge(intervals: Interval[], integer: boolean): Interval[] {
  const sorted = [...intervals].sort((a, b) => (lt(a.lo, b.lo) ? -1 : lt(b.lo, a.lo) ? 1 : 0));
  const out: { lo: Lo; hi: Lo }[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    const touches = last !== undefined && (le(iv.lo, last.hi) || (integer && isAdjacent(last.hi, iv.lo)));
    if (last && touches) {
      if (lt(last.hi, iv.hi)) last.hi = iv.hi;
    } else out.push({ lo: iv.lo, hi: iv.hi });
  }
  return out;
}

function isAdjacent(hi: Lo, lo: Lo): boolean {
  if ((typeof hi === 'number' && !Number.isInteger(hi)) || (typeof lo === 'number' && !Number.isInteger(lo))) return false;
  if (typeof hi === 'bigint' || typeof lo === 'bigint') return BigInt(hi) + 1n === BigInt(lo);
  return hi + 1 === lo;
}

function intervalsOfMembers(members: readonly EnumMember[]): Interval[] {
  return members.flatMap((m) => (typeof m.value === 'string' ? [] : [{ lo: m.value, hi: 'to' in m && m.to !== undefined ? m.to : m.value }]));
}

function valueSet(r: ResourceModel): ValueSet {
  const range = r.range;
  if (range?.kind === 'unparsed') return { space: 'text', text: range.text };
  if (isNumericType(r.type)) {
    const integer = r.type !== 'Float';
    const limits = typeLimits(r.type);
    if (!range || range.kind === 'length') return { space: 'numeric', intervals: [limits], integer };
    if (range.kind === 'interval') return { space: 'numeric', intervals: [{ lo: range.min ?? limits.lo, hi: range.max ?? limits.hi }], integer };
    return { space: 'numeric', intervals: merge(intervalsOfMembers(range.members), integer), integer };
  }
  if (r.type === 'String' || r.type === 'Corelnk') {
    if (range?.kind === 'enum' && range.members.every((m) => typeof m.value === 'string')) {
      return { space: 'strings', values: new Set(range.members.map((m) => String(m.value))) };
    }
  }
  if (range?.kind === 'length') {
    const intervals = range.values ? range.values.map((v) => ({ lo: v, hi: v })) : [{ lo: range.min, hi: range.max }];
    return { space: 'length', intervals: merge(intervals, true) };
  }
  if (range?.kind === 'interval' && (r.type === 'Opaque' || r.type === 'String')) {
    return { space: 'length', intervals: [{ lo: range.min ?? 0, hi: range.max ?? Infinity }] };
  }
  return r.type === 'String' || r.type === 'Corelnk' ? { space: 'strings', values: 'all' } : { space: 'length', intervals: [{ lo: 0, hi: Infinity }] };
}

function covers(outer: readonly Interval[], inner: readonly Interval[]): boolean {
  return inner.every((iv) => outer.some((o) => le(o.lo, iv.lo) && le(iv.hi, o.hi)));
}

function contains(a: ValueSet, b: ValueSet): boolean | undefined {
  if (a.space === 'text' || b.space === 'text') return a.space === 'text' && b.space === 'text' ? a.text === b.text : undefined;
  if (a.space === 'strings' && b.space === 'strings') {
    if (a.values === 'all') return true;
    if (b.values === 'all') return false;
    const av = a.values;
    return [...b.values].every((v) => av.has(v));
  }
  if ((a.space === 'numeric' && b.space === 'numeric') || (a.space === 'length' && b.space === 'length')) return covers(a.intervals, b.intervals);
  return undefined;
}

/** Compares the values two versions of one resource allow; the type is taken from each version. */
export function compareRanges(oldR: ResourceModel, newR: ResourceModel): RangeChange {
  const a = valueSet(oldR);
  const b = valueSet(newR);
  const newHasOld = contains(b, a);
  const oldHasNew = contains(a, b);
  if (newHasOld === undefined || oldHasNew === undefined) return rangeText(oldR.range) === rangeText(newR.range) ? 'same' : 'changed';
  if (newHasOld && oldHasNew) return 'same';
  if (newHasOld) return 'widened';
  if (oldHasNew) return 'narrowed';
  return 'changed';
}

export function rangeText(r: Range | undefined): string {
  return r ? r.text : '';
}
