// The example device as a child process (`node main.ts` through a transpile-only loader), on the shared child helper.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from '../../support/child.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REGISTER = path.join(ROOT, 'scripts/ts-register.mjs');
const MAIN = path.join(ROOT, 'examples/simple-device/main.ts');

/** The example device's process: its output lines, `line()` (60 s unless told), `exit`, `stop()` and `kill()`. */
export type DeviceProcess = Child;

export function runDevice(args: readonly string[]): DeviceProcess {
  return startChild(process.execPath, ['--import', REGISTER, MAIN, ...args], ROOT, { lineTimeoutMs: 60_000 });
}
