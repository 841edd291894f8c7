// PersistentState: sections read once, written back whole; bursts coalesce; an unreadable store is reported, kept aside and replaced by an empty state.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../../runtime/store/file-store.js';
import { MemoryStateStore } from '../../../runtime/store/memory-store.js';
import { PersistentState } from '../../../runtime/store/state.js';
import type { FirmwarePersistence, PersistedFirmwareState } from '../../../runtime/firmware/types.js';
import { StoreError, type StateStore, type StoredSections } from '../../../runtime/store/types.js';

/** A store whose saves wait until released, to observe coalescing. */
class GatedStore implements StateStore {
  readonly where = 'gated';
  readonly saved: StoredSections[] = [];
  release: Array<() => void> = [];
  fail = false;
  async load(): Promise<StoredSections | undefined> {
    return undefined;
  }
  save(sections: StoredSections): Promise<void> {
    const copy = JSON.parse(JSON.stringify(sections)) as StoredSections;
    return new Promise((res, rej) => this.release.push(() => {
      if (this.fail) {
        rej(new StoreError('io', 'gated: cannot save'));
        return;
      }
      this.saved.push(copy);
      res();
    }));
  }
}

describe('PersistentState', () => {
  it('a fresh store opens empty and not restored; sections saved are there after a reopen', async () => {
    const store = new MemoryStateStore();
    const first = await PersistentState.open(store);
    expect(first.restored).toBe(false);
    expect(first.problem).toBeUndefined();
    await first.state.section<{ ssid: number }[]>('servers').save([{ ssid: 1 }]);
    await first.state.section<{ state: number }>('firmware').save({ state: 0 });
    const again = await PersistentState.open(store);
    expect(again.restored).toBe(true);
    expect(again.state.names()).toEqual(['firmware', 'servers']);
    expect(again.state.section('servers').load()).toEqual([{ ssid: 1 }]);
  });

  it('changes made while a write is under way go out together in one more write', async () => {
    const store = new GatedStore();
    const { state } = await PersistentState.open(store);
    const a = state.section<number>('a');
    const first = a.save(1);
    const second = a.save(2);
    const third = state.section<number>('b').save(3);
    expect(store.release).toHaveLength(1);
    store.release.shift()!();
    await first;
    await Promise.resolve();
    expect(store.release).toHaveLength(1);
    store.release.shift()!();
    await Promise.all([second, third]);
    expect(store.saved).toEqual([{ a: 1 }, { a: 2, b: 3 }]);
  });

  it('a failed write rejects the saves it carried, and the next change is tried again', async () => {
    const store = new GatedStore();
    const { state } = await PersistentState.open(store);
    store.fail = true;
    const failed = state.section<number>('a').save(1);
    store.release.shift()!();
    await expect(failed).rejects.toBeInstanceOf(StoreError);
    store.fail = false;
    const ok = state.section<number>('a').save(2);
    store.release.shift()!();
    await ok;
    expect(store.saved).toEqual([{ a: 2 }]);
  });

  it('a section is a FirmwarePersistence as it is: the Firmware Update state lives in the same store', async () => {
    const store = new MemoryStateStore();
    const persist: FirmwarePersistence = (await PersistentState.open(store)).state.section<PersistedFirmwareState>('firmware');
    const saved: PersistedFirmwareState = { state: 1, result: 0, packageUri: 'coap://h/fw', pkgName: 'fw', pkgVersion: '2.0', lastStateChange: 1_700_000_000_000 };
    await persist.save(saved);
    const reopened: FirmwarePersistence = (await PersistentState.open(store)).state.section<PersistedFirmwareState>('firmware');
    expect(await reopened.load()).toEqual(saved);
  });

  it('delete removes a section; flush waits for what is pending', async () => {
    const store = new MemoryStateStore();
    const { state } = await PersistentState.open(store);
    void state.section<number>('a').save(1);
    void state.section<number>('b').save(2);
    await state.section('a').delete();
    await state.flush();
    expect(await store.load()).toEqual({ b: 2 });
  });

  it('a corrupt file: problem says so and where, the file is kept aside, the state starts empty and saves anew', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lwm2m-state-'));
    try {
      const path = join(dir, 'state');
      writeFileSync(path, 'garbage');
      const opened = await PersistentState.open(new FileStateStore(path));
      expect(opened.restored).toBe(false);
      expect(opened.problem?.failure).toBe('corrupt');
      expect(opened.problem?.message).toContain(path);
      expect(opened.quarantinedTo).toMatch(/state\.corrupt-\d+$/);
      expect(opened.state.names()).toEqual([]);
      await opened.state.section<number>('a').save(1);
      expect(readdirSync(dir).sort()).toEqual(['state', opened.quarantinedTo!.slice(dir.length + 1)].sort());
      expect((await PersistentState.open(new FileStateStore(path))).state.section('a').load()).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
