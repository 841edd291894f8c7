// Planning one observation: attributes turned into periods in ms, the gt/lt/st test, and when it next needs looking at.
import type { ResourceContent } from '../model.js';
import { sameContent } from '../values/check.js';
import type { NotificationAttributes } from './attributes.js';
import { DIRTY, IN_FLIGHT, PENDING, type Entry } from './entry.js';

export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export function defaultEquals(a: unknown, b: unknown): boolean {
  return sameContent(a as ResourceContent | undefined, b as ResourceContent | undefined);
}

/** Attributes converted once per evaluation into what the scheduler compares: milliseconds, and "absent" as undefined. */
export interface Plan {
  pmin: number;
  pmax: number | undefined;
  epmin: number;
  epmax: number | undefined;
  gt: number | undefined;
  lt: number | undefined;
  st: number | undefined;
}

/** Fills `p` from attributes; one Plan is reused for every evaluation, since evaluations never nest. */
export function plan(a: Readonly<NotificationAttributes>, p: Plan): Plan {
  const pmin = a.pmin !== undefined && a.pmin > 0 ? a.pmin * 1000 : 0;
  p.pmin = pmin;
  // pmax 0 means "no maximum period" (the Server object's default when /1/x/3 is absent); a pmax below
  // pmin can arise from inheritance across levels and is ignored, as LwM2M 1.1 says.
  p.pmax = a.pmax !== undefined && a.pmax > 0 && a.pmax * 1000 >= pmin ? a.pmax * 1000 : undefined;
  const epmin = a.epmin !== undefined && a.epmin > 0 ? a.epmin * 1000 : 0;
  p.epmin = epmin;
  p.epmax = a.epmax !== undefined && a.epmax > 0 && a.epmax * 1000 > epmin ? a.epmax * 1000 : undefined;
  p.gt = a.gt;
  p.lt = a.lt;
  p.st = a.st;
  return p;
}

/**
 * Whether a new numeric value is worth a notification under gt/lt/st, compared with the last notified
 * one: gt and lt fire when the value crosses to the other side of the threshold, st when it moved by at
 * least st. Any condition that is set and met is enough (as Wakaama and Leshan read "crosses").
 */
export function qualifies(p: Plan, value: number, last: number): boolean {
  if (p.gt !== undefined && value > p.gt !== last > p.gt) return true;
  if (p.lt !== undefined && value < p.lt !== last < p.lt) return true;
  if (p.st !== undefined && Math.abs(value - last) >= p.st) return true;
  return false;
}

/** A Plan with nothing set, to be filled by plan(). */
export function emptyPlan(): Plan {
  return { pmin: 0, pmax: undefined, epmin: 0, epmax: undefined, gt: undefined, lt: undefined, st: undefined };
}

/** When the observation next needs looking at (Infinity: nothing is due): epmin after a change, epmax, pmin with one held back, pmax. */
export function nextDue(e: Entry<unknown>, p: Plan, now: number): number {
  let next = Infinity;
  if (e.flags & DIRTY) next = Math.max(now, e.lastEvalAt + p.epmin);
  if (p.epmax !== undefined) next = Math.min(next, e.lastEvalAt + p.epmax);
  if (!(e.flags & IN_FLIGHT)) {
    if (e.flags & PENDING) next = Math.min(next, e.lastSentAt + p.pmin);
    if (p.pmax !== undefined) next = Math.min(next, e.lastSentAt + p.pmax);
  }
  return next;
}
