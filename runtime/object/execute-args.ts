// Parses LwM2M Execute arguments ("0='3',1") into digit → optional value pairs; anything else is a 4.00.
import { BadRequestError } from '../errors.js';
import type { Lwm2mPath } from '../model.js';

/** Work an Execute handler defers until its response is out (a Reboot must answer before it restarts). */
export type AfterResponseTask = () => void | Promise<void>;

export interface ExecuteArguments {
  /** The payload as the server sent it (empty string when there was none). */
  readonly raw: string;
  /** Arguments by digit 0–9; the value is undefined for an argument given without one. */
  readonly args: ReadonlyMap<number, string | undefined>;
  /**
   * Queues work to run once the response to this Execute has been sent; it is dropped when the handler
   * fails, since an Execute that answered with an error has not happened.
   */
  readonly afterResponse: (task: AfterResponseTask) => void;
}

/**
 * Where afterResponse tasks go when nobody collects them (an Execute called directly, not through the client):
 * the next macrotask, which runs after whatever response the current handler produces has been written.
 */
export function deferAfterResponse(task: AfterResponseTask): void {
  setTimeout(() => {
    Promise.resolve().then(task).catch((err: unknown) => {
      process.emitWarning(`Execute afterResponse task failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }, 0);
}

export function parseExecuteArguments(
  raw: string,
  path?: Lwm2mPath,
  afterResponse: (task: AfterResponseTask) => void = deferAfterResponse,
): ExecuteArguments {
  const args = new Map<number, string | undefined>();
  let i = 0;
  const fail = (why: string): never => {
    throw new BadRequestError(`bad Execute arguments at character ${i + 1}: ${why}`, path);
  };
  while (i < raw.length) {
    const c = raw[i]!;
    if (c < '0' || c > '9') fail('expected an argument digit 0-9');
    const digit = Number(c);
    if (args.has(digit)) fail(`argument ${digit} given twice`);
    i++;
    let value: string | undefined;
    if (raw[i] === '=') {
      i++;
      if (raw[i] !== "'") fail('expected a quoted value');
      const end = raw.indexOf("'", i + 1);
      if (end < 0) fail('unterminated quoted value');
      value = raw.slice(i + 1, end);
      // The spec's value grammar is printable ASCII without the quote itself.
      if (!/^[\x20-\x26\x28-\x7e]*$/.test(value)) fail('value has characters outside printable ASCII');
      i = end + 1;
    }
    args.set(digit, value);
    if (i < raw.length) {
      if (raw[i] !== ',') fail("expected ',' between arguments");
      i++;
      if (i === raw.length) fail('trailing comma');
    }
  }
  return { raw, args, afterResponse };
}
