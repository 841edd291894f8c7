// BootstrapAccountTimer: the Bootstrap-Server account purged at its wall-clock deadline, in timer steps Node can hold, and only that account.
import { ManualClock } from '../../../runtime/coap/index.js';
import { BootstrapAccountTimer } from '../../../runtime/client/bootstrap-account.js';
import { ObjectRegistry, SECURITY_MODEL, SecurityInstance } from '../../../runtime/client/index.js';

function setup(accountTimeout: number | undefined) {
  const registry = new ObjectRegistry();
  registry.addObject(SECURITY_MODEL);
  registry.addInstance(new SecurityInstance(0, { uri: 'coap://bs', bootstrap: true, ...(accountTimeout !== undefined ? { accountTimeout } : {}) }));
  registry.addInstance(new SecurityInstance(1, { uri: 'coap://dm', shortServerId: 1 }));
  const clock = new ManualClock();
  const asked: number[] = [];
  let wall = 1_000_000;
  const purged: Array<[number, number]> = [];
  const deadlines: Array<number | undefined> = [];
  const timer = new BootstrapAccountTimer({
    registry,
    clock: { now: () => clock.now(), setTimeout: (cb, ms) => { asked.push(ms); return clock.setTimeout(cb, ms); }, clearTimeout: (h) => clock.clearTimeout(h) },
    wallClock: () => wall,
    purged: (id, s) => purged.push([id, s]),
    deadline: (at) => deadlines.push(at),
  });
  const advance = (ms: number): void => { wall += ms; clock.advance(ms); };
  const ids = (): number[] => registry.instances(0).map((i) => i.instanceId);
  return { timer, advance, ids, purged, deadlines, asked, clock, now: () => wall };
}

describe('BootstrapAccountTimer', () => {
  it('purges only the bootstrap account, at the deadline, and reports the deadline it keeps', () => {
    const t = setup(5);
    t.timer.arm();
    expect(t.deadlines).toEqual([1_005_000]);
    t.advance(4_999);
    expect(t.ids()).toEqual([0, 1]);
    t.advance(1);
    expect(t.ids()).toEqual([1]);
    expect(t.purged).toEqual([[0, 5]]);
    expect(t.deadlines).toEqual([1_005_000, undefined]);
  });

  it('waits for nothing with a timeout of 0 or none (the account lives for good)', () => {
    for (const timeout of [0, undefined]) {
      const t = setup(timeout);
      t.timer.arm();
      expect(t.deadlines).toEqual([undefined]);
      expect(t.clock.pending).toBe(0);
    }
  });

  it('purges at once a deadline that passed while the device was down, and waits out one beyond 2^31 ms in steps', () => {
    const past = setup(5);
    past.timer.resume(past.now() - 1);
    expect(past.ids()).toEqual([1]);

    const long = setup(40 * 86_400);
    long.timer.arm();
    expect(Math.max(...long.asked)).toBe(2 ** 31 - 1);
    long.advance(39 * 86_400_000);
    expect(long.ids()).toEqual([0, 1]);
    long.advance(86_400_000);
    expect(long.ids()).toEqual([1]);
  });

  it('stop() cancels the wait; a new arm() after a bootstrap without a timeout clears the old deadline', () => {
    const t = setup(5);
    t.timer.arm();
    t.timer.stop();
    t.advance(10_000);
    expect(t.ids()).toEqual([0, 1]);
    t.timer.arm();
    t.timer.resume(undefined);
    t.advance(10_000);
    expect(t.ids()).toEqual([0, 1]);
  });
});
