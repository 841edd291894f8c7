// MemoryStateStore: holds the encoded document as a file would, so corruption can be simulated.
import { MemoryStateStore } from '../../../runtime/store/memory-store.js';
import { StoreError } from '../../../runtime/store/types.js';

describe('MemoryStateStore', () => {
  it('loads undefined before the first save, then what was saved', async () => {
    const store = new MemoryStateStore();
    expect(await store.load()).toBeUndefined();
    await store.save({ a: 1 });
    expect(await store.load()).toEqual({ a: 1 });
    expect(store.saves).toBe(1);
  });
  it('a tampered document is a StoreError on load', async () => {
    const store = new MemoryStateStore();
    await store.save({ a: 1 });
    store.text = store.text!.replace('1', '2');
    await expect(store.load()).rejects.toBeInstanceOf(StoreError);
  });
});
