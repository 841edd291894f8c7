// StoredQueue: order, the count and byte bounds (oldest first, with an event), hqmax per key, latest-only, and persistence.
import { StoredQueue, type StoredDropEvent, type StoredItem } from '../../../runtime/notify/stored.js';

const item = (key: string, n: number, size = 4): StoredItem => ({
  kind: 'notify', key, time: 1000 + n, payload: new Uint8Array(size).fill(n), meta: { observe: n },
});

function queue(options: ConstructorParameters<typeof StoredQueue>[0] = {}): { q: StoredQueue; dropped: StoredDropEvent[] } {
  const dropped: StoredDropEvent[] = [];
  return { q: new StoredQueue({ ...options, onDropped: (e) => dropped.push(e) }), dropped };
}

describe('StoredQueue', () => {
  it('keeps every item in order, and hands them back oldest first', () => {
    const { q, dropped } = queue();
    for (let i = 0; i < 5; i++) q.add(item(i % 2 ? 'a' : 'b', i), { mode: 'all' });
    expect(q.items().map((i) => i.time)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect([q.size, q.bytes]).toEqual([5, 20]);
    expect(q.shift()!.time).toBe(1000);
    expect(q.peek()!.time).toBe(1001);
    expect(dropped).toEqual([]);
  });

  it('defaults to 1000 items and 256 KiB', () => {
    const q = new StoredQueue();
    expect([q.maxCount, q.maxBytes]).toEqual([1000, 262144]);
  });

  it('drops the oldest beyond maxCount or maxBytes and says which', () => {
    const { q, dropped } = queue({ maxCount: 3, maxBytes: 10 });
    q.add(item('a', 1), { mode: 'all' });
    q.add(item('b', 2), { mode: 'all' });
    q.add(item('a', 3), { mode: 'all' });
    expect(dropped).toEqual([{ reason: 'full', count: 1, items: [{ kind: 'notify', key: 'a', time: 1001 }] }]);
    q.add(item('c', 4, 9), { mode: 'all' });
    // 4 + 4 + 9 bytes > 10: both older ones go, the new one stays even though it is large.
    expect(q.items().map((i) => i.time)).toEqual([1004]);
    expect(dropped.at(-1)).toMatchObject({ reason: 'full', count: 2 });
    q.add(item('d', 5, 50), { mode: 'all' });
    expect(q.items().map((i) => i.time)).toEqual([1005]);
  });

  it('bounds one key with perKey (hqmax), and keeps only the latest with 0 or mode latest', () => {
    const { q, dropped } = queue();
    for (let i = 1; i <= 4; i++) q.add(item('a', i), { mode: 'all', perKey: 2 });
    q.add(item('b', 5), { mode: 'all', perKey: 2 });
    expect(q.items().map((i) => [i.key, i.time])).toEqual([['a', 1003], ['a', 1004], ['b', 1005]]);
    expect(dropped.map((d) => [d.reason, d.count])).toEqual([['hqmax', 1], ['hqmax', 1]]);
    q.add(item('b', 6), { mode: 'all', perKey: 0 });
    q.add(item('a', 7), { mode: 'latest' });
    // Superseded values are not lost notifications: no event for them.
    expect(q.items().map((i) => [i.key, i.time])).toEqual([['b', 1006], ['a', 1007]]);
    expect(dropped).toHaveLength(2);
  });

  it('discards by a predicate with a reason', () => {
    const { q, dropped } = queue();
    q.add(item('a', 1), { mode: 'all' });
    q.add({ ...item('x', 2), kind: 'send' }, { mode: 'all' });
    expect(q.discard((i) => i.kind === 'notify', 'session-ended')).toBe(1);
    expect(q.items().map((i) => i.kind)).toEqual(['send']);
    expect(dropped).toEqual([{ reason: 'session-ended', count: 1, items: [{ kind: 'notify', key: 'a', time: 1001 }] }]);
    expect(q.discard(() => false, 'rejected')).toBe(0);
    expect(dropped).toHaveLength(1);
  });

  it('saves after every change and takes back what was saved, skipping what is not an item', async () => {
    let saved: unknown;
    const persist = { load: () => saved, save: async (v: readonly StoredItem[]) => { saved = v; } };
    const q = new StoredQueue({ persist });
    q.add(item('a', 1), { mode: 'all' });
    q.add(item('b', 2), { mode: 'all' });
    expect((saved as StoredItem[]).map((i) => i.key)).toEqual(['a', 'b']);
    q.shift();
    expect((saved as StoredItem[]).map((i) => i.key)).toEqual(['b']);
    saved = [...(saved as StoredItem[]), { kind: 'notify' }, 'junk', null];
    const back = new StoredQueue({ persist });
    expect(back.items()).toEqual([item('b', 2)]);
    expect(back.bytes).toBe(4);
    expect(new StoredQueue({ persist: { load: () => ({ not: 'a list' }), save: persist.save } }).size).toBe(0);
  });

  it('reports a failed save as an error, never throwing into the sender', async () => {
    const errors: Error[] = [];
    const q = new StoredQueue({ persist: { load: () => undefined, save: () => Promise.reject(new Error('disk full')) }, onError: (e) => errors.push(e) });
    q.add(item('a', 1), { mode: 'all' });
    await new Promise((r) => setImmediate(r));
    expect(errors.map((e) => e.message)).toEqual(['disk full']);
  });
});
