// Ready-made FirmwareStorage: a file on disk (resumes across restarts) and a memory buffer (tests, small devices).
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import type { FirmwareStorage } from './types.js';

/** Keeps the package in memory; for tests and for packages small enough to hold. */
export class MemoryStorage implements FirmwareStorage {
  #buffer = new Uint8Array(0);
  #size = 0;
  /** How often each operation ran, for tests that check what the component did. */
  readonly calls = { begin: 0, write: 0, finish: 0, discard: 0 };

  begin(expectedSize: number | undefined): void {
    this.calls.begin++;
    this.#buffer = new Uint8Array(expectedSize ?? 0);
    this.#size = 0;
  }
  write(offset: number, bytes: Uint8Array): void {
    this.calls.write++;
    if (offset > this.#size) throw new RangeError(`write at ${offset} beyond the ${this.#size} bytes held`);
    const end = offset + bytes.length;
    if (end > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(end, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#size));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, offset);
    this.#size = end;
  }
  size(): number {
    return this.#size;
  }
  finish(): void {
    this.calls.finish++;
  }
  discard(): void {
    this.calls.discard++;
    this.#buffer = new Uint8Array(0);
    this.#size = 0;
  }
  /** A copy of the bytes held. */
  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#size);
  }
}

/** Writes the package to one file; `size()` is the file's length, so a pull resumes after a restart. */
export class FileStorage implements FirmwareStorage {
  readonly path: string;
  #handle: FileHandle | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async #file(): Promise<FileHandle> {
    // 'a+' would ignore offsets on Linux; 'r+' needs the file to exist.
    this.#handle ??= await open(this.path, 'r+').catch(() => open(this.path, 'w+'));
    return this.#handle;
  }
  async #close(): Promise<void> {
    const h = this.#handle;
    this.#handle = undefined;
    await h?.close();
  }

  async begin(): Promise<void> {
    await this.#close();
    this.#handle = await open(this.path, 'w+');
  }
  async write(offset: number, bytes: Uint8Array): Promise<void> {
    const h = await this.#file();
    const { size } = await h.stat();
    if (offset > size) throw new RangeError(`write at ${offset} beyond the ${size} bytes held`);
    if (offset < size) await h.truncate(offset);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await h.write(bytes, done, bytes.length - done, offset + done);
      done += bytesWritten;
    }
  }
  async size(): Promise<number> {
    if (this.#handle) return (await this.#handle.stat()).size;
    try {
      return (await stat(this.path)).size;
    } catch {
      return 0;
    }
  }
  async finish(): Promise<void> {
    await this.#handle?.sync();
    await this.#close();
  }
  async discard(): Promise<void> {
    await this.#close();
    await rm(this.path, { force: true });
  }
}
