// The scheduler's heap on its own: order, moves and removals against a sorted reference, under random operations.
import { DueHeap, type HeapItem } from '../../../runtime/notify/heap.js';

interface Item extends HeapItem {
  readonly id: number;
}
const item = (id: number): Item => ({ id, due: -1, heapIndex: -1 });

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('DueHeap', () => {
  test('pops in order of due time; an empty heap peeks undefined', () => {
    const heap = new DueHeap<Item>();
    expect(heap.peek()).toBeUndefined();
    const items = [5, 1, 4, 2, 3].map((d, i) => {
      const it = item(i);
      heap.set(it, d);
      return it;
    });
    expect(heap.size).toBe(5);
    expect(heap.peek()).toBe(items[1]);
    const order: number[] = [];
    while (heap.size > 0) order.push(heap.pop().due);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(items.every((it) => it.heapIndex === -1)).toBe(true);
  });

  test('set moves an item already in, earlier or later; remove takes it out and marks it', () => {
    const heap = new DueHeap<Item>();
    const a = item(1);
    const b = item(2);
    const c = item(3);
    heap.set(a, 10);
    heap.set(b, 20);
    heap.set(c, 30);
    heap.set(c, 5);
    expect(heap.peek()).toBe(c);
    heap.set(c, 25);
    expect(heap.peek()).toBe(a);
    heap.remove(a);
    expect(a).toMatchObject({ due: -1, heapIndex: -1 });
    heap.remove(a);
    expect(heap.size).toBe(2);
    expect([heap.pop().id, heap.pop().id]).toEqual([2, 3]);
  });

  test('10 000 random sets, moves and removals keep the order a sorted list gives', () => {
    const random = rng(7);
    const heap = new DueHeap<Item>();
    const all = Array.from({ length: 2000 }, (_, i) => item(i));
    const inHeap = new Set<Item>();
    for (let n = 0; n < 10_000; n++) {
      const it = all[Math.floor(random() * all.length)]!;
      if (random() < 0.25) {
        heap.remove(it);
        inHeap.delete(it);
      } else {
        heap.set(it, Math.floor(random() * 100_000));
        inHeap.add(it);
      }
      expect(heap.size).toBe(inHeap.size);
    }
    const expected = [...inHeap].map((it) => it.due).sort((x, y) => x - y);
    const got: number[] = [];
    while (heap.size > 0) got.push(heap.pop().due);
    expect(got).toEqual(expected);
  });
});
