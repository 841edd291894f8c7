// The example device as a child process (`node main.ts` through a transpile-only loader), its output split into lines to wait on.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.mjs');
const MAIN = path.join(ROOT, 'examples/simple-device/main.ts');

export interface DeviceProcess {
  readonly proc: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first output line matching already printed or to come. */
  line(pattern: RegExp): Promise<string>;
  readonly exit: Promise<number | null>;
  /** SIGKILL when still running, and wait for the exit. */
  kill(): Promise<void>;
}

export function runDevice(args: readonly string[]): DeviceProcess {
  const proc = spawn(process.execPath, ['--import', REGISTER, MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  let buffered = '';
  const take = (chunk: Buffer): void => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.pattern.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
    }
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc, lines, exit,
    line: (pattern) => {
      const found = lines.find((l) => pattern.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exit;
    },
  };
}
