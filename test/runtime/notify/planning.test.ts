// Planning one observation: attributes into milliseconds (ignoring pmax < pmin and epmax <= epmin), the gt/lt/st test, the next due time.
import { ACTIVE, DIRTY, Entry, IN_FLIGHT, PENDING, type ObservationHandlers } from '../../../runtime/notify/entry.js';
import { emptyPlan, nextDue, plan, qualifies } from '../../../runtime/notify/planning.js';

const handlers: ObservationHandlers<number> = { read: () => 0, attributes: () => ({}), send: () => 'sent' };
const entry = (flags = 0): Entry<unknown> => {
  const e = new Entry<number>({ peer: { address: '127.0.0.1', port: 1 }, path: { objectId: 3 }, token: Uint8Array.of(1), confirmable: false, handlers }, 0, 1000);
  e.flags |= flags;
  return e as Entry<unknown>;
};

describe('plan', () => {
  test('periods in ms; absent, zero and contradictory periods are no period', () => {
    expect(plan({ pmin: 2, pmax: 10, epmin: 1, epmax: 5, gt: 3 }, emptyPlan())).toEqual({ pmin: 2000, pmax: 10_000, epmin: 1000, epmax: 5000, gt: 3, lt: undefined, st: undefined });
    expect(plan({ pmax: 0 }, emptyPlan()).pmax).toBeUndefined();
    expect(plan({ pmin: 10, pmax: 5 }, emptyPlan()).pmax).toBeUndefined();
    expect(plan({ epmin: 5, epmax: 5 }, emptyPlan()).epmax).toBeUndefined();
  });
});

describe('qualifies', () => {
  test('gt and lt fire on crossing, st on a step of at least st', () => {
    const p = plan({ gt: 10, lt: 0, st: 5 }, emptyPlan());
    expect(qualifies(p, 11, 9)).toBe(true);
    expect(qualifies(p, 12, 11)).toBe(false);
    expect(qualifies(p, -1, 1)).toBe(true);
    expect(qualifies(p, 8, 3)).toBe(true);
    expect(qualifies(p, 7, 3)).toBe(false);
  });
});

describe('nextDue', () => {
  test('nothing due without a change or a period; pmax from the last send; a held change at pmin', () => {
    expect(nextDue(entry(ACTIVE), plan({}, emptyPlan()), 2000)).toBe(Infinity);
    expect(nextDue(entry(ACTIVE), plan({ pmax: 60 }, emptyPlan()), 2000)).toBe(61_000);
    expect(nextDue(entry(ACTIVE | PENDING), plan({ pmin: 5 }, emptyPlan()), 2000)).toBe(6000);
    expect(nextDue(entry(ACTIVE | DIRTY), plan({ epmin: 3 }, emptyPlan()), 2000)).toBe(4000);
  });

  test('a CON in flight holds pmin and pmax back, not epmax sampling', () => {
    expect(nextDue(entry(ACTIVE | IN_FLIGHT | PENDING), plan({ pmin: 1, pmax: 60 }, emptyPlan()), 2000)).toBe(Infinity);
    expect(nextDue(entry(ACTIVE | IN_FLIGHT), plan({ epmax: 30 }, emptyPlan()), 2000)).toBe(31_000);
  });
});
