// The ready-made storages: bytes in order, a rewrite from a lower offset, refusal of a gap, resume size, discard.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, MemoryStorage } from '../../../runtime/firmware/storage.js';

test('MemoryStorage keeps the bytes written, takes a rewrite from below, refuses a gap, and forgets on discard', () => {
  const s = new MemoryStorage();
  s.begin(4);
  s.write(0, Uint8Array.of(1, 2, 3));
  s.write(2, Uint8Array.of(9, 9));
  expect(s.bytes()).toEqual(Uint8Array.of(1, 2, 9, 9));
  expect(s.size()).toBe(4);
  expect(() => s.write(10, Uint8Array.of(1))).toThrow(RangeError);
  s.discard();
  expect(s.size()).toBe(0);
  expect(s.calls).toMatchObject({ begin: 1, write: 3, discard: 1 });
});

test('FileStorage writes one file, resumes from its length after a restart, and removes it on discard', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fw-storage-'));
  try {
    const path = join(dir, 'fw.bin');
    const a = new FileStorage(path);
    await a.begin();
    await a.write(0, Uint8Array.of(1, 2, 3, 4));
    await a.finish();
    const b = new FileStorage(path); // the device restarted
    expect(await b.size()).toBe(4);
    await b.write(2, Uint8Array.of(7));
    await b.finish();
    expect([...(await readFile(path))]).toEqual([1, 2, 7]);
    await expect(b.write(10, Uint8Array.of(1))).rejects.toThrow(RangeError);
    await b.discard();
    await expect(stat(path)).rejects.toThrow();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
