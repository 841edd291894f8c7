// A child process for the crash test of FileStateStore: two clean saves, then SIGKILL of itself at a chosen point of the third.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { open } from 'node:fs/promises';
import { FileStateStore } from '../../runtime/store/file-store.js';

type CrashPoint = 'mid-write' | 'before-rename' | 'after-rename';
const [path, point] = process.argv.slice(2) as [string, CrashPoint];
const blob = 'x'.repeat(1_000_000);
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

let armed = false;
// The crash is real (the process dies with what it wrote so far on disk); only its moment is chosen, by wrapping the
// file system calls the store makes.
const probe = await open(process.execPath, 'r');
const handleProto = Object.getPrototypeOf(probe) as { writeFile: (this: fs.promises.FileHandle, data: string, enc: BufferEncoding) => Promise<void> };
await probe.close();
const writeFile = handleProto.writeFile;
handleProto.writeFile = async function (this: fs.promises.FileHandle, data: string, enc: BufferEncoding) {
  if (!armed || point !== 'mid-write') return writeFile.call(this, data, enc);
  await this.write(data.slice(0, data.length >> 1), null, enc);
  await this.sync();
  return die();
};
const rename = fs.promises.rename;
fs.promises.rename = async (from, to) => {
  if (armed && point === 'before-rename') die();
  await rename(from, to);
  if (armed && point === 'after-rename') die();
};
syncBuiltinESMExports();

const store = new FileStateStore(path);
for (let seq = 0; ; seq++) {
  armed = seq === 2;
  await store.save({ seq, blob });
  process.stdout.write(`done ${seq}\n`);
}
