// The scheduler's clock: one re-armable timer on the message layer's Clock; the manual one tests drive.
import { ManualClock } from '../../../runtime/coap/clock.js';
import { ManualSchedulerClock, isSchedulerClock, schedulerClockFrom, systemSchedulerClock } from '../../../runtime/notify/clock.js';

test('arm replaces what was armed, disarm cancels, both on the clock given', () => {
  const base = new ManualClock();
  const clock = schedulerClockFrom(base);
  const fired: number[] = [];
  clock.arm(100, () => fired.push(1));
  clock.arm(50, () => fired.push(2));
  expect(base.pending).toBe(1);
  base.advance(200);
  expect(fired).toEqual([2]);
  clock.arm(10, () => fired.push(3));
  clock.disarm();
  base.advance(100);
  expect(fired).toEqual([2]);
  expect(isSchedulerClock(clock)).toBe(true);
  expect(isSchedulerClock(base)).toBe(false);
});

test('the manual scheduler clock shares time with a ManualClock and counts arms', () => {
  const base = new ManualClock(1000);
  const clock = new ManualSchedulerClock(base);
  let fired = 0;
  clock.arm(5, () => fired++);
  expect(clock.armCount).toBe(1);
  base.advance(5);
  expect(fired).toBe(1);
  expect(clock.now()).toBe(1005);
});

test('the system scheduler clock fires on real time', async () => {
  const clock = systemSchedulerClock();
  await new Promise<void>((resolve) => clock.arm(5, resolve));
  expect(clock.now()).toBeGreaterThan(0);
});
