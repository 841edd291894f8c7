// A binary min-heap of items by their due time, each item knowing its own index so it can be moved or removed in O(log n).

/** What the heap keeps: `due` is the key, `heapIndex` the item's place (-1 when not in the heap). */
export interface HeapItem {
  due: number;
  heapIndex: number;
}

/**
 * Min by `due`. Items carry their index (rather than the heap keeping a map) so a scheduler of 100 000
 * observations moves one in O(log n) with no allocation.
 */
export class DueHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The item due first, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Puts an item in at `due`, or moves it there when it is in already. */
  set(item: T, due: number): void {
    const items = this.#items;
    if (item.heapIndex < 0) {
      item.due = due;
      item.heapIndex = items.length;
      items.push(item);
      this.#up(item.heapIndex);
    } else {
      const before = item.due;
      item.due = due;
      if (due < before) this.#up(item.heapIndex);
      else this.#down(item.heapIndex);
    }
  }

  /** Takes an item out (nothing when it is not in); its `due` becomes -1. */
  remove(item: T): void {
    const i = item.heapIndex;
    item.due = -1;
    if (i < 0) return;
    const items = this.#items;
    const last = items.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      items[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
  }

  /** Takes out the item due first (the heap must not be empty); it keeps its `due`. */
  pop(): T {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (last !== top) {
      items[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  #up(i: number): void {
    const items = this.#items;
    const e = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.due <= e.due) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.due < items[l]!.due ? r : l;
      const child = items[c]!;
      if (child.due >= e.due) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}
