// StateStore on one file, replaced atomically: write a temporary file beside it, fsync it, rename it over, fsync the folder.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeSections, encodeSections } from './encoding.js';
import { StoreError, type StateStore, type StoredSections } from './types.js';

/** Saves the device's state to `path` (created with mode 0600: it holds keys); one save at a time, in call order. */
export class FileStateStore implements StateStore {
  readonly path: string;
  readonly where: string;
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(path: string) {
    this.path = path;
    this.where = path;
  }

  async load(): Promise<StoredSections | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StoreError('io', `${this.where}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return decodeSections(text, this.where);
  }

  async quarantine(): Promise<string | undefined> {
    const aside = `${this.path}.corrupt-${Date.now()}`;
    try {
      await rename(this.path, aside);
      return aside;
    } catch {
      return undefined;
    }
  }

  save(sections: StoredSections): Promise<void> {
    // Encode now, so a caller that changes its objects after the call still gets what it saved.
    const text = encodeSections(sections);
    const run = this.#chain.then(() => this.#write(text));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #write(text: string): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${++this.#seq}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(text, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      // The rename itself is durable only once the folder's entry is on disk.
      const folder = await open(dir, 'r');
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new StoreError('io', `${this.where}: cannot save (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}
