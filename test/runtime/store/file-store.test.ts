// FileStateStore: atomic replacement on disk, mode 0600, clear errors, and no torn file when the writer is killed mid-save.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FileStateStore } from '../../../runtime/store/file-store.js';
import { StoreError } from '../../../runtime/store/types.js';

const REGISTER = resolve('scripts/ts-register.mjs');
const WRITER = resolve('test/support/state-writer.ts');

describe('FileStateStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lwm2m-state-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads undefined when there is no file, then what was saved; the file is 0600 and no temporary is left', async () => {
    const store = new FileStateStore(join(dir, 'sub', 'state'));
    expect(await store.load()).toBeUndefined();
    await store.save({ security: [{ key: new Uint8Array([1, 2, 3]) }] });
    expect(await store.load()).toEqual({ security: [{ key: new Uint8Array([1, 2, 3]) }] });
    expect(statSync(join(dir, 'sub', 'state')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['state']);
  });

  it('saves in call order: the last save wins even when the calls overlap', async () => {
    const store = new FileStateStore(join(dir, 'state'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save({ n: i })));
    expect(await store.load()).toEqual({ n: 19 });
  });

  it('a corrupt file is a StoreError naming the path; quarantine moves it aside, keeping its bytes', async () => {
    const path = join(dir, 'state');
    writeFileSync(path, 'lwm2m-gen-state 1 00\n{"a":1}\n');
    const store = new FileStateStore(path);
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).failure).toBe('corrupt');
    expect((err as Error).message).toContain(path);
    const aside = await store.quarantine();
    expect(aside).toMatch(/state\.corrupt-\d+$/);
    expect(readFileSync(aside!, 'utf8')).toBe('lwm2m-gen-state 1 00\n{"a":1}\n');
    expect(await store.load()).toBeUndefined();
  });

  it('a folder it cannot write is a StoreError("io") that says which store', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; a path under a regular file fails for everyone instead.
      writeFileSync(join(dir, 'file'), 'x');
      const store = new FileStateStore(join(dir, 'file', 'state'));
      const err = await store.save({ a: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).failure).toBe('io');
      expect((err as Error).message).toContain(join(dir, 'file', 'state'));
      return;
    }
    chmodSync(dir, 0o500);
    const err = await new FileStateStore(join(dir, 'state')).save({ a: 1 }).catch((e: unknown) => e);
    expect((err as StoreError).failure).toBe('io');
  });

  it.each([
    ['half of the new document written', 'mid-write', 1],
    ['the new document synced, not yet renamed', 'before-rename', 1],
    ['renamed, the folder not yet synced', 'after-rename', 2],
  ])('a writer killed (SIGKILL) with %s leaves a whole document, never a torn one', async (_name, point, expected) => {
    const path = join(dir, 'state');
    const child = spawn(process.execPath, ['--import', REGISTER, WRITER, path, point], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    expect(signal).toBe('SIGKILL');
    expect(out).toBe('done 0\ndone 1\n');
    const loaded = await new FileStateStore(path).load() as { seq: number; blob: string } | undefined;
    expect(loaded?.seq).toBe(expected);
    expect(loaded?.blob).toHaveLength(1_000_000);
    // A killed writer's temporary may remain beside it (a dot file); it never replaces the document.
    expect(readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual(['state']);
  }, 30_000);
});
