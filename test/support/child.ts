// A child process for end-to-end tests: its output lines, a wait for a line, and stops that wait for the exit.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  /** The exit code (null when ended by a signal), once the process has exited. */
  readonly exit: Promise<number | null>;
  /** Resolves with the first output line matching, already printed or to come; rejects after timeoutMs. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM when still running, then waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL when still running, then waits for the exit. */
  kill(): Promise<void>;
}

export interface ChildOptions {
  /** How long `line()` waits when not told; default 15 s. */
  readonly lineTimeoutMs?: number;
  /** Gives the child a stdin pipe that stays open until it exits (for programs that read commands); default none. */
  readonly stdin?: boolean;
}

export function startChild(command: string, args: readonly string[], cwd: string, options: ChildOptions = {}): Child {
  const proc = spawn(command, [...args], { cwd, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (l: string) => void }>();
  let buffered = '';
  const take = (chunk: Buffer): void => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.pattern.test(l)) { waiters.delete(w); w.resolve(l); }
    }
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    proc.stdin?.destroy(); // an open stdin pipe would keep the test process alive
    resolve(code);
  }));
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  return {
    proc, lines, exit,
    line: (pattern, timeoutMs = options.lineTimeoutMs ?? 15000) => {
      const found = lines.find((l) => pattern.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pattern, resolve: (l: string) => { clearTimeout(timer); resolve(l); } };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    stop: async () => {
      if (running()) proc.kill('SIGTERM');
      return exit;
    },
    kill: async () => {
      if (running()) proc.kill('SIGKILL');
      await exit;
    },
  };
}
