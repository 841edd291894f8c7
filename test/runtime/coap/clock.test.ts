// The manual clock tests drive time with: timers fire in time order, including ones set while advancing.
import { ManualClock, systemClock } from '../../../runtime/coap/clock.js';

test('advance fires due timers in order, with the time they were due, and timers they set', () => {
  const clock = new ManualClock(100);
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(['b', clock.now()]), 20);
  clock.setTimeout(() => {
    fired.push(['a', clock.now()]);
    clock.setTimeout(() => fired.push(['c', clock.now()]), 5);
  }, 10);
  const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 15);
  clock.clearTimeout(cancelled);
  expect(clock.nextDue()).toBe(110);
  clock.advance(50);
  expect(fired).toEqual([['a', 110], ['c', 115], ['b', 120]]);
  expect(clock.now()).toBe(150);
  expect(clock.pending).toBe(0);
});

test('the system clock runs real timers', async () => {
  const t0 = systemClock.now();
  await new Promise<void>((r) => systemClock.setTimeout(r, 5));
  expect(systemClock.now()).toBeGreaterThan(t0);
});
