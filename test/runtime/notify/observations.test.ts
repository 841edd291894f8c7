// The observation registry: change routing by path, cancels by token and peer, token packing, failing callbacks.
import type { Lwm2mPath } from '../../../runtime/model.js';
import type { Peer } from '../../../runtime/coap/types.js';
import { ManualSchedulerClock } from '../../../runtime/notify/clock.js';
import { ObservationRegistry } from '../../../runtime/notify/observations.js';
import { NotifyScheduler, type ObservationHandlers } from '../../../runtime/notify/scheduler.js';
import type { NotificationAttributes } from '../../../runtime/notify/attributes.js';

const S = 1000;
const A: Peer = { address: '127.0.0.1', port: 5683 };
const B: Peer = { address: '::1', port: 5684 };

function setup() {
  const clock = new ManualSchedulerClock();
  const scheduler = new NotifyScheduler(clock);
  const registry = new ObservationRegistry(scheduler);
  const values = new Map<string, unknown>();
  const sent: Array<{ path: string; value: unknown; seq: number; peer: Peer }> = [];
  const attrs: { current: NotificationAttributes } = { current: {} };
  const fmt = (p: Lwm2mPath) => [p.objectId, p.instanceId, p.resourceId, p.resourceInstanceId].filter((x) => x !== undefined).join('/');
  const h: ObservationHandlers<unknown> = {
    read: (o) => values.get(fmt(o.path)) ?? `value of ${fmt(o.path)}`,
    attributes: () => attrs.current,
    send: (o, value, seq) => {
      sent.push({ path: fmt(o.path), value, seq, peer: o.peer });
      return 'sent';
    },
  };
  let token = 0;
  const add = (path: Lwm2mPath, peer: Peer = A, tok = ++token) =>
    registry.add({ peer, token: Uint8Array.of(0xab, tok), path, confirmable: false }, h, values.get(fmt(path)));
  return { clock, scheduler, registry, values, sent, attrs, add, fmt };
}

describe('ObservationRegistry', () => {
  it('routes a resource change to the observations whose path covers it, and only those', () => {
    const t = setup();
    t.add({ objectId: 3 });
    t.add({ objectId: 3, instanceId: 0 });
    t.add({ objectId: 3, instanceId: 0, resourceId: 7 });
    t.add({ objectId: 3, instanceId: 0, resourceId: 7 }, B);
    t.add({ objectId: 3, instanceId: 0, resourceId: 7, resourceInstanceId: 1 });
    t.add({ objectId: 3, instanceId: 0, resourceId: 8 });
    t.add({ objectId: 3, instanceId: 1, resourceId: 7 });
    t.add({ objectId: 4, instanceId: 0, resourceId: 7 });
    expect(t.registry.changed(3, 0, 7)).toBe(5);
    t.values.set('3/0/7/1', 'changed');
    t.clock.advance(0);
    expect(t.sent.map((s) => s.path).sort()).toEqual(['3', '3/0', '3/0/7', '3/0/7', '3/0/7/1']);
    expect(t.registry.changed(3, 1)).toBe(2); // /3 and /3/1/7 (an instance created or deleted)
    expect(t.registry.changed(3)).toBe(1);
    expect(t.registry.changed(9, 0, 0)).toBe(0);
    expect(t.registry.changed(3, 5, 0)).toBe(1);
  });

  it('does not notify a resource-instance observation when another instance of its resource changed', () => {
    const t = setup();
    t.values.set('3/0/6/0', 1);
    t.values.set('3/0/6/1', 5);
    t.add({ objectId: 3, instanceId: 0, resourceId: 6, resourceInstanceId: 0 });
    t.add({ objectId: 3, instanceId: 0, resourceId: 6, resourceInstanceId: 1 });
    t.values.set('3/0/6/1', 6);
    t.registry.changed(3, 0, 6);
    t.clock.advance(0);
    expect(t.sent.map((s) => [s.path, s.value])).toEqual([['3/0/6/1', 6]]);
  });

  it('re-registering with the same token replaces the observation and continues its sequence numbers', () => {
    const t = setup();
    t.attrs.current = { pmax: 10 };
    const first = t.add({ objectId: 3, instanceId: 0, resourceId: 7 }, A, 42);
    t.clock.advanceTo(30 * S);
    expect(t.sent.map((s) => s.seq)).toEqual([1, 2, 3]);
    const second = t.add({ objectId: 3, instanceId: 0, resourceId: 9 }, A, 42);
    expect(first.active).toBe(false);
    expect(second.sequence).toBe(4);
    expect(t.registry.size).toBe(1);
    expect(t.registry.at({ objectId: 3, instanceId: 0, resourceId: 7 })).toEqual([]);
    expect(t.registry.get(A, Uint8Array.of(0xab, 42))).toBe(second);
    t.clock.advanceTo(40 * S);
    expect(t.sent.map((s) => [s.path, s.seq])).toEqual([['3/0/7', 1], ['3/0/7', 2], ['3/0/7', 3], ['3/0/9', 5]]);
    // The same token from another peer is another observation.
    t.add({ objectId: 3, instanceId: 0, resourceId: 9 }, B, 42);
    expect(t.registry.size).toBe(2);
  });

  it('cancels by token (GET Observe=1 or RST) and by peer (De-register), leaving the rest running', () => {
    const t = setup();
    t.attrs.current = { pmax: 10 };
    t.add({ objectId: 3, instanceId: 0, resourceId: 1 }, A, 1);
    t.add({ objectId: 3, instanceId: 0, resourceId: 2 }, A, 2);
    t.add({ objectId: 3, instanceId: 0, resourceId: 3 }, B, 3);
    expect(t.registry.cancel(A, Uint8Array.of(0xab, 1))).toBe(true);
    expect(t.registry.cancel(A, Uint8Array.of(0xab, 1))).toBe(false);
    expect(t.registry.cancel(B, Uint8Array.of(0xab, 2))).toBe(false);
    expect(t.registry.cancelPeer(A)).toBe(1);
    expect(t.registry.cancelPeer(A)).toBe(0);
    expect(t.registry.size).toBe(1);
    expect(t.scheduler.size).toBe(1);
    t.clock.advanceTo(10 * S);
    expect(t.sent.map((s) => s.path)).toEqual(['3/0/3']);
    expect(t.registry.changed(3, 0, 1)).toBe(0);
    expect(t.registry.cancelAll()).toBe(1);
    expect(t.scheduler.size).toBe(0);
    expect(t.scheduler.queued).toBe(0);
    expect(t.clock.armedAt).toBe(Infinity);
  });

  it('refreshes only the observations at and under a path whose attributes were written', () => {
    const t = setup();
    t.add({ objectId: 3, instanceId: 0, resourceId: 1 });
    t.add({ objectId: 3, instanceId: 1, resourceId: 1 });
    t.add({ objectId: 3 });
    expect(t.registry.refresh({ objectId: 3, instanceId: 0 })).toBe(1);
    expect(t.registry.refresh({ objectId: 3 })).toBe(3);
    expect(t.registry.refresh()).toBe(3);
    expect(t.registry.refresh({ objectId: 4 })).toBe(0);
    expect(t.registry.refreshPeer(A)).toBe(3);
  });

  it('shares one Peer object per peer and gives back the token', () => {
    const t = setup();
    const o1 = t.add({ objectId: 1 }, { address: '127.0.0.1', port: 5683 }, 7);
    const o2 = t.add({ objectId: 2 }, { address: '127.0.0.1', port: 5683 }, 8);
    expect(o1.peer).toBe(o2.peer);
    expect(o1.token).toEqual(Uint8Array.of(0xab, 7));
    expect(o1.tokenKey).toBe('ab07');
    expect(t.registry.forPeer(A)).toEqual([o1, o2]);
  });

  it('forgets an observation the scheduler ended (CON timeout) and prunes empty paths', async () => {
    const t = setup();
    t.attrs.current = { pmax: 10 };
    const clock = t.clock;
    const reg = new ObservationRegistry(t.scheduler);
    const o = reg.add(
      { peer: A, token: Uint8Array.of(1), path: { objectId: 3, instanceId: 0, resourceId: 1 }, confirmable: true },
      { read: () => 1, attributes: () => ({ pmax: 10 }), send: () => Promise.resolve('timeout') },
      1,
    );
    clock.advanceTo(10 * S);
    await new Promise<void>((r) => setImmediate(r));
    expect(o.active).toBe(false);
    expect(reg.size).toBe(0);
    expect(reg.forPeer(A)).toEqual([]);
    expect(reg.changed(3, 0, 1)).toBe(0);
  });
});

describe('tokens', () => {
  it('keeps tokens of 0 to 8 bytes exactly, telling apart tokens that differ only in length', () => {
    const t = setup();
    const tokens = [[], [0], [0, 0], [1, 2, 3, 4], [0xff, 0xfe, 0xfd, 0xfc, 0xfb], [1, 2, 3, 4, 5, 6, 7, 8], [0x80, 0, 0, 0, 0, 0, 0, 0x80]].map((a) =>
      Uint8Array.from(a),
    );
    const obs = tokens.map((tok, i) =>
      t.registry.add({ peer: A, token: tok, path: { objectId: 3, instanceId: 0, resourceId: i }, confirmable: false, accept: 11542 + i }, { read: () => 0, attributes: () => ({}), send: () => 'sent' }, 0),
    );
    expect(t.registry.size).toBe(tokens.length);
    tokens.forEach((tok, i) => {
      expect(obs[i]!.token).toEqual(tok);
      expect(obs[i]!.tokenKey).toBe(Buffer.from(tok).toString('hex'));
      expect(obs[i]!.accept).toBe(11542 + i);
      expect(t.registry.get(A, tok)).toBe(obs[i]);
    });
    const nine = { peer: A, token: new Uint8Array(9), path: { objectId: 1 }, confirmable: false };
    expect(() => t.registry.add(nine, { read: () => 0, attributes: () => ({}), send: () => 'sent' }, 0)).toThrow(/at most 8/);
    expect(t.registry.size).toBe(tokens.length);
  });

  it('keeps apart two tokens whose hashes collide', async () => {
    const { tokenHash } = await import('../../../runtime/notify/entry.js');
    // 8-byte tokens from a counter; with a 30-bit hash a collision turns up after some 2^15 of them.
    const tok = (i: number) => {
      const lo = Math.imul(i, 0x27d4eb2d);
      return Uint8Array.of(0, 0, i >>> 8, i & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255);
    };
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let i = 0; !pair && i < 1 << 16; i++) {
      const h = tokenHash(tok(i));
      const j = seen.get(h);
      if (j !== undefined) pair = [j, i];
      else seen.set(h, i);
    }
    expect(pair).toBeDefined();
    const t = setup();
    const h = { read: () => 0, attributes: () => ({}), send: () => 'sent' as const };
    const o1 = t.registry.add({ peer: A, token: tok(pair![0]), path: { objectId: 3 }, confirmable: false }, h, 0);
    const o2 = t.registry.add({ peer: A, token: tok(pair![1]), path: { objectId: 4 }, confirmable: false }, h, 0);
    expect(o1.tokenHash).toBe(o2.tokenHash);
    expect(t.registry.size).toBe(2);
    expect(t.registry.get(A, tok(pair![1]))).toBe(o2);
    expect(t.registry.cancel(A, tok(pair![0]))).toBe(true);
    expect(t.registry.get(A, tok(pair![0]))).toBeUndefined();
    expect(t.registry.get(A, tok(pair![1]))).toBe(o2);
    expect(o2.active).toBe(true);
  });
});

describe('failing callbacks', () => {
  it('keeps no trace of an observation whose attributes callback throws at the start', () => {
    const t = setup();
    const ended: string[] = [];
    const o = t.registry.add(
      { peer: A, token: Uint8Array.of(1), path: { objectId: 3 }, confirmable: false },
      {
        read: () => 0,
        attributes: () => {
          throw new Error('no server account');
        },
        send: () => 'sent',
        ended: (_o, reason) => ended.push(reason),
      },
      0,
    );
    expect(o.active).toBe(false);
    expect(ended).toEqual(['error']);
    expect(t.registry.size).toBe(0);
    expect(t.registry.forPeer(A)).toEqual([]);
    expect(t.registry.changed(3)).toBe(0);
  });

  it('ends an observation whose send callback throws or rejects', async () => {
    const t = setup();
    const ended: string[] = [];
    const base = { read: () => 0, attributes: () => ({ pmax: 1 }), ended: (_o: unknown, reason: string) => ended.push(reason) };
    t.registry.add({ peer: A, token: Uint8Array.of(1), path: { objectId: 3 }, confirmable: false }, {
      ...base,
      send: () => {
        throw new Error('socket closed');
      },
    }, 0);
    t.registry.add({ peer: A, token: Uint8Array.of(2), path: { objectId: 4 }, confirmable: true }, {
      ...base,
      send: () => Promise.reject(new Error('socket closed')),
    }, 0);
    t.clock.advanceTo(S);
    await new Promise<void>((r) => setImmediate(r));
    expect(ended).toEqual(['error', 'error']);
    expect(t.registry.size).toBe(0);
    expect(t.scheduler.size).toBe(0);
  });
});
