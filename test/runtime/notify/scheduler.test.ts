// The notify scheduler on a manual clock: pmin, pmax, gt/lt/st, epmin/epmax, defaults, CON outcomes, the heap.
import type { Lwm2mPath } from '../../../runtime/model.js';
import type { NotificationOutcome, Peer } from '../../../runtime/coap/types.js';
import { AttributeStore, parseWriteAttributes, type NotificationAttributes } from '../../../runtime/notify/attributes.js';
import { ManualSchedulerClock } from '../../../runtime/notify/clock.js';
import { ObservationRegistry } from '../../../runtime/notify/observations.js';
import { attributeSource, NOTIFY_PRESET_2016, notifyDefaults, type ServerDefaults } from '../../../runtime/notify/policy.js';
import { NotifyScheduler, type EndReason, type Observation, type ObservationHandlers } from '../../../runtime/notify/scheduler.js';

const S = 1000;
const peer: Peer = { address: '127.0.0.1', port: 5683 };
const RES: Lwm2mPath = { objectId: 3303, instanceId: 0, resourceId: 5700 };

interface Sent {
  t: number;
  value: unknown;
  seq: number;
  con: boolean;
  path: Lwm2mPath;
}

/** A client stand-in: values by path key, attributes by a function the test swaps, every send recorded. */
function setup(attrs: NotificationAttributes = {}) {
  const clock = new ManualSchedulerClock(0);
  const scheduler = new NotifyScheduler(clock);
  const registry = new ObservationRegistry(scheduler);
  const values = new Map<string, unknown>();
  const sent: Sent[] = [];
  const ended: Array<[Observation<unknown>, EndReason]> = [];
  const key = (p: Lwm2mPath) => `${p.objectId}/${p.instanceId}/${p.resourceId}/${p.resourceInstanceId}`;
  const state = {
    attrs,
    outcome: (_o: Observation<unknown>): NotificationOutcome | Promise<NotificationOutcome> => 'sent',
  };
  const handlers: ObservationHandlers<unknown> = {
    read: (o) => values.get(key(o.path)),
    attributes: () => state.attrs,
    send: (o, value, seq, con) => {
      sent.push({ t: clock.now(), value, seq, con, path: o.path });
      return state.outcome(o);
    },
    ended: (o, reason) => ended.push([o, reason]),
  };
  let nextToken = 1;
  const observe = (path: Lwm2mPath, value: unknown, options: { confirmable?: boolean; token?: number; h?: ObservationHandlers<unknown> } = {}) => {
    values.set(key(path), value);
    return registry.add(
      { peer, token: Uint8Array.of(options.token ?? nextToken++), path, confirmable: options.confirmable ?? false },
      options.h ?? handlers,
      value,
    );
  };
  /** The device app sets a value: store it and report the change as ObjectInstance.onChange would. */
  const set = (path: Lwm2mPath, value: unknown) => {
    values.set(key(path), value);
    registry.changed(path.objectId, path.instanceId, path.resourceId);
  };
  return { clock, scheduler, registry, values, sent, ended, state, handlers, observe, set, key };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('NotifyScheduler: pmin and pmax', () => {
  it('holds back a value that changes every second and sends the latest one when pmin ends', () => {
    const t = setup({ pmin: 10 });
    t.observe(RES, 0);
    // Changes half a second before each whole second, so the value at a pmin boundary is unambiguous.
    for (let s = 1; s <= 35; s++) {
      t.clock.advanceTo(s * S - S / 2);
      t.set(RES, s);
    }
    t.clock.advanceTo(100 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[10, 10], [20, 20], [30, 30], [40, 35]]);
  });

  it('sends a change at once when pmin has already passed, coalescing changes of one tick', () => {
    const t = setup({ pmin: 5 });
    t.observe(RES, 0);
    t.clock.advanceTo(7 * S);
    t.set(RES, 1);
    t.set(RES, 2);
    t.set(RES, 3);
    t.clock.advance(0);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[7, 3]]);
  });

  it('sends a constant value every pmax, and nothing else', () => {
    const t = setup({ pmax: 60 });
    t.observe(RES, 42);
    t.clock.advanceTo(200 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[60, 42], [120, 42], [180, 42]]);
    // One timer, armed once per notification: no ticking in between.
    expect(t.clock.armCount).toBeLessThanOrEqual(4);
  });

  it('restarts the pmax period after a change was notified', () => {
    const t = setup({ pmax: 60 });
    t.observe(RES, 1);
    t.clock.advanceTo(50 * S);
    t.set(RES, 2);
    t.clock.advanceTo(200 * S);
    expect(t.sent.map((x) => x.t / S)).toEqual([50, 110, 170]);
  });

  it('ignores a pmax below pmin (possible by inheritance) and pmax 0', () => {
    const t = setup({ pmin: 30, pmax: 10 });
    t.observe(RES, 1);
    t.clock.advanceTo(100 * S);
    expect(t.sent).toEqual([]);
    t.state.attrs = { pmax: 0 };
    t.registry.refresh();
    t.clock.advanceTo(1000 * S);
    expect(t.sent).toEqual([]);
    expect(t.scheduler.queued).toBe(0);
  });
});

describe('NotifyScheduler: gt, lt, st', () => {
  it('notifies when the value crosses gt or lt, in either direction, and not otherwise', () => {
    const t = setup({ gt: 20, lt: 10 });
    t.observe(RES, 15);
    const steps = [18, 21, 25, 19, 12, 9, 9.5, 11, 30];
    steps.forEach((v, i) => {
      t.clock.advanceTo((i + 1) * S);
      t.set(RES, v);
    });
    t.clock.advanceTo(100 * S);
    expect(t.sent.map((x) => x.value)).toEqual([21, 19, 9, 11, 30]);
  });

  it('notifies on a step of at least st from the last notified value', () => {
    const t = setup({ st: 5 });
    t.observe(RES, 0);
    [3, 4.9, 5, 8, 10, 6, 4.9, 5.5].forEach((v, i) => {
      t.clock.advanceTo((i + 1) * S);
      t.set(RES, v);
    });
    t.clock.advanceTo(100 * S);
    expect(t.sent.map((x) => x.value)).toEqual([5, 10, 4.9]);
  });

  it('compares bigints numerically and lets pmax send regardless of thresholds', () => {
    const t = setup({ gt: 100, pmax: 50 });
    t.observe(RES, 10n);
    t.clock.advanceTo(S);
    t.set(RES, 20n);
    t.clock.advanceTo(2 * S);
    t.set(RES, 2n ** 60n);
    t.clock.advanceTo(60 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[2, 2n ** 60n], [52, 2n ** 60n]]);
  });

  it('with pmin, a qualifying crossing is held back and the current value goes out', () => {
    const t = setup({ pmin: 10, gt: 20 });
    t.observe(RES, 15);
    t.clock.advanceTo(S);
    t.set(RES, 25);
    t.clock.advanceTo(3 * S);
    t.set(RES, 26);
    t.clock.advanceTo(100 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[10, 26]]);
  });
});

describe('NotifyScheduler: epmin and epmax', () => {
  it('samples a value that changes without change events at most every epmax', () => {
    const t = setup({ epmax: 5 });
    t.observe(RES, 1);
    t.clock.advanceTo(12 * S);
    t.values.set(t.key(RES), 2); // a computed value: no change event
    t.clock.advanceTo(40 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[15, 2]]);
  });

  it('evaluates changes no more often than epmin', () => {
    const t = setup({ epmin: 10 });
    t.observe(RES, 0);
    for (let s = 1; s <= 25; s++) {
      t.clock.advanceTo(s * S - S / 2);
      t.set(RES, s);
    }
    t.clock.advanceTo(100 * S);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[10, 10], [20, 20], [30, 25]]);
  });
});

describe('NotifyScheduler: defaults and policy', () => {
  it('reads the Server object defaults live: a new Default Maximum Period applies at once after refresh', () => {
    const t = setup();
    const server: { pmin?: number; pmax?: number } = { pmin: 0, pmax: 60 };
    const store = new AttributeStore();
    t.state.attrs = {};
    const h: ObservationHandlers<unknown> = { ...t.handlers, attributes: attributeSource(store, () => server) };
    t.observe(RES, 7, { h });
    t.clock.advanceTo(60 * S);
    expect(t.sent.map((x) => x.t / S)).toEqual([60]);
    t.clock.advanceTo(65 * S);
    server.pmax = 10;
    t.registry.refreshPeer(peer);
    t.clock.advanceTo(95 * S);
    expect(t.sent.map((x) => x.t / S)).toEqual([60, 70, 80, 90]);
    // And a Default Minimum Period written later holds changes back from the next evaluation on.
    server.pmin = 30;
    server.pmax = 0;
    t.clock.advanceTo(95 * S);
    t.set(RES, 8);
    t.clock.advanceTo(200 * S);
    expect(t.sent.map((x) => x.t / S)).toEqual([60, 70, 80, 90, 120]);
  });

  it('falls back to the 2016 preset: pmin 300 s / pmax 21600 s, pmin 30 s for Firmware Update', () => {
    const t = setup();
    const store = new AttributeStore();
    const h: ObservationHandlers<unknown> = { ...t.handlers, attributes: attributeSource(store, () => undefined, NOTIFY_PRESET_2016) };
    const fw: Lwm2mPath = { objectId: 5, instanceId: 0, resourceId: 3 };
    const dev: Lwm2mPath = { objectId: 3, instanceId: 0, resourceId: 13 };
    t.observe(fw, 0, { h });
    t.observe(dev, 0, { h });
    t.clock.advanceTo(S);
    t.set(fw, 1);
    t.set(dev, 1);
    t.clock.advanceTo(400 * S);
    expect(t.sent.map((x) => [x.path.objectId, x.t / S])).toEqual([[5, 30], [3, 300]]);
    t.clock.advanceTo(21600 * S + 30 * S);
    expect(t.sent.map((x) => [x.path.objectId, x.t / S])).toEqual([[5, 30], [3, 300], [5, 21630]]);
    // Written attributes beat the policy; the Server object beats the policy too.
    store.apply({ objectId: 3 }, parseWriteAttributes(['pmin=1'], { objectId: 3 }));
    expect(h.attributes(t.registry.at(dev)[0]!)).toEqual({ pmin: 1, pmax: 21600 });
    expect(notifyDefaults(5, NOTIFY_PRESET_2016, { pmin: 0 } satisfies ServerDefaults)).toEqual({ pmin: 0, pmax: 21600 });
    expect(notifyDefaults(9, { defaults: { pmin: 1 }, objects: { 9: { pmax: 5 } } })).toEqual({ pmin: 1, pmax: 5 });
  });
});

describe('NotifyScheduler: sequence numbers and confirmable notifications', () => {
  it('gives each notification a larger Observe number, wrapping at 24 bits', () => {
    const t = setup({ pmax: 1 });
    const o = t.scheduler.start({ peer, path: RES, token: Uint8Array.of(9), confirmable: false, handlers: t.handlers, sequence: 0xfffffd }, 0);
    expect(o.sequence).toBe(0xfffffd);
    t.clock.advanceTo(4 * S);
    expect(t.sent.map((x) => x.seq)).toEqual([0xfffffe, 0xffffff, 0, 1]);
    const t2 = setup({ pmax: 1 });
    t2.observe(RES, 0);
    t2.clock.advanceTo(50 * S);
    const seqs = t2.sent.map((x) => x.seq);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('ends the observation when a CON notification is never acknowledged', async () => {
    const t = setup({ pmax: 10 });
    t.state.outcome = () => Promise.resolve('timeout');
    const o = t.observe(RES, 1, { confirmable: true });
    t.clock.advanceTo(10 * S);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.con).toBe(true);
    await flush();
    expect(t.ended.map(([x, r]) => [x, r])).toEqual([[o, 'timeout']]);
    expect(o.active).toBe(false);
    expect(t.registry.size).toBe(0);
    expect(t.scheduler.size).toBe(0);
    t.clock.advanceTo(100 * S);
    expect(t.sent).toHaveLength(1);
  });

  it('ends the observation on RST, for CON and NON alike', async () => {
    const t = setup({ pmax: 10 });
    t.state.outcome = () => 'reset';
    t.observe(RES, 1, { confirmable: false });
    t.clock.advanceTo(30 * S);
    await flush();
    expect(t.sent).toHaveLength(1);
    expect(t.ended.map(([, r]) => r)).toEqual(['reset']);
    expect(t.registry.size).toBe(0);
  });

  it('holds notifications while a CON is unacknowledged, then sends the current value', async () => {
    const t = setup({});
    let ack: (o: NotificationOutcome) => void = () => undefined;
    t.state.outcome = () => new Promise((r) => (ack = r));
    t.observe(RES, 0, { confirmable: true });
    t.clock.advanceTo(S);
    t.set(RES, 1);
    t.clock.advanceTo(2 * S);
    t.set(RES, 2);
    t.clock.advanceTo(3 * S);
    t.set(RES, 3);
    t.clock.advanceTo(4 * S);
    expect(t.sent.map((x) => x.value)).toEqual([1]);
    ack('acked');
    await flush();
    t.clock.advance(0);
    expect(t.sent.map((x) => [x.t / S, x.value])).toEqual([[1, 1], [4, 3]]);
  });

  it('sends a NON observation as CON at least once every 24 hours', () => {
    const t = setup({ pmax: 3600 });
    t.observe(RES, 0);
    t.clock.advanceTo(48 * 3600 * S);
    const con = t.sent.filter((x) => x.con).map((x) => x.t / (3600 * S));
    expect(t.sent).toHaveLength(48);
    expect(con).toEqual([24, 48]);
  });

  it('ends the observation when reading the value throws', () => {
    const t = setup({ pmax: 10 });
    const h: ObservationHandlers<unknown> = {
      ...t.handlers,
      read: () => {
        throw new Error('instance deleted');
      },
    };
    t.observe(RES, 0, { h });
    t.clock.advanceTo(20 * S);
    expect(t.ended.map(([, r]) => r)).toEqual(['error']);
    expect(t.sent).toEqual([]);
    expect(t.registry.size).toBe(0);
  });
});

describe('NotifyScheduler: one heap for many observations', () => {
  /** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('fires thousands of observations each at its own due time, in order, on one timer', () => {
    const t = setup();
    const random = rng(42);
    const pmax = new Map<string, number>();
    const h: ObservationHandlers<unknown> = { ...t.handlers, attributes: (o) => ({ pmax: pmax.get(o.tokenKey)! }) };
    const all: Array<Observation<unknown>> = [];
    for (let i = 0; i < 5000; i++) {
      const path = { objectId: 3303, instanceId: i, resourceId: 5700 };
      const token = Uint8Array.of(i >> 8, i & 255);
      const tokenKey = Buffer.from(token).toString('hex');
      pmax.set(tokenKey, 1 + Math.floor(random() * 600));
      t.values.set(t.key(path), i);
      all.push(t.registry.add({ peer, token, path, confirmable: false }, h, i));
    }
    // Cancel a fifth at random and make another fifth change now: the heap must stay consistent.
    for (const o of all) {
      const r = random();
      if (r < 0.2) t.registry.cancel(o.peer, o.token);
      else if (r < 0.4) t.registry.changed(3303, o.path.instanceId, 5700);
    }
    t.clock.advance(0);
    const immediate = t.sent.length;
    expect(immediate).toBeGreaterThan(800);
    t.clock.advanceTo(1200 * S);
    const times = t.sent.map((x) => x.t);
    const outOfOrder = times.filter((x, i) => i > 0 && x < times[i - 1]!);
    expect(outOfOrder).toEqual([]);
    // Every periodic notification at exactly lastSent + pmax of its own observation.
    const last = new Map<string, number>();
    let periodic = 0;
    const wrong: unknown[] = [];
    for (const s of t.sent.slice(immediate)) {
      const k = `${s.path.instanceId}`;
      const tokenKey = Buffer.from(Uint8Array.of(s.path.instanceId! >> 8, s.path.instanceId! & 255)).toString('hex');
      // Everything started, and the immediate notifications went out, at time 0.
      const prev = last.get(k) ?? 0;
      if (s.t - prev !== pmax.get(tokenKey)! * S) wrong.push([s.path.instanceId, prev, s.t, pmax.get(tokenKey)]);
      last.set(k, s.t);
      periodic++;
    }
    expect(wrong).toEqual([]);
    expect(periodic).toBeGreaterThan(4000);
    expect(t.scheduler.size).toBe(t.registry.size);
  });

  it('keeps observations with nothing due out of the heap and disarms the timer when idle', () => {
    const t = setup({ pmin: 10 });
    for (let i = 0; i < 100; i++) t.observe({ objectId: 3, instanceId: 0, resourceId: i }, 0);
    expect(t.scheduler.size).toBe(100);
    expect(t.scheduler.queued).toBe(0);
    expect(t.clock.armedAt).toBe(Infinity);
    t.clock.advanceTo(5 * S);
    t.set({ objectId: 3, instanceId: 0, resourceId: 7 }, 1);
    t.clock.advance(0);
    expect(t.scheduler.queued).toBe(1);
    t.clock.advanceTo(10 * S);
    expect(t.sent.map((x) => [x.t / S, x.path.resourceId])).toEqual([[10, 7]]);
    expect(t.scheduler.queued).toBe(0);
    expect(t.clock.armedAt).toBe(Infinity);
  });
});
