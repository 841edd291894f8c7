// The example's --send: the chosen paths sent (LwM2M 1.1 Send) once after the first registration, or every --send-interval seconds, a log line each.
import {
  ContentFormat, SendPathError, SendRejectedError, captureValues, parsePath,
  type Clock, type ObjectRegistry, type SendFormat, type SendOptions, type SendResult,
} from 'lwm2m-gen/runtime';
import { Ticker } from './objects.js';

/** A --send path that is not one, or that the device lacks or cannot read: a usage error (exit 2) naming it. */
export class SendPathsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendPathsError';
  }
}

/** Splits `--send /3/0/9,/3/0/13` and checks each is an LwM2M path; the device's objects are checked at start. */
export function parseSendPaths(text: string): string[] {
  const paths = text.split(',').map((p) => p.trim());
  for (const p of paths) {
    if (p === '' || !p.startsWith('/') || !parsePath(p)) {
      throw new SendPathsError(`--send: ${JSON.stringify(p)} is not an LwM2M path (comma-separated, e.g. /3/0/9,/3/0/13)`);
    }
  }
  return paths;
}

/** Checks the paths against the device's objects before anything starts: each must exist and be readable, none in /0. */
export function checkSendPaths(registry: ObjectRegistry, paths: readonly string[]): void {
  try {
    captureValues(registry, paths);
  } catch (err) {
    if (err instanceof SendPathError) throw new SendPathsError(`--send: ${err.message}`);
    throw err;
  }
}

export interface SendLoopOptions {
  readonly paths: readonly string[];
  /** Every this many ms while running; absent: once, after the first registration. */
  readonly intervalMs?: number;
  /** The device's preferred format when it is SenML JSON, else SenML CBOR. */
  readonly preferredFormat?: number;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  readonly send: (paths: readonly string[], options: SendOptions) => Promise<SendResult>;
}

const FORMAT_NAMES: Readonly<Record<number, string>> = { [ContentFormat.SENML_JSON]: 'SenML JSON', [ContentFormat.SENML_CBOR]: 'SenML CBOR' };

/** Sends the paths when told the device registered (the first time), then on its own timer with an interval. */
export class SendLoop {
  readonly #o: SendLoopOptions;
  readonly #format: SendFormat;
  readonly #ticker: Ticker | undefined;
  #started = false;
  #stopped = false;

  constructor(options: SendLoopOptions) {
    this.#o = options;
    this.#format = options.preferredFormat === ContentFormat.SENML_JSON ? ContentFormat.SENML_JSON : ContentFormat.SENML_CBOR;
    this.#ticker = options.intervalMs === undefined ? undefined : new Ticker(() => void this.sendNow(), options.intervalMs, options.clock);
  }

  /** The device registered: the first time, the first Send goes now and the interval starts. */
  registered(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.sendNow();
    this.#ticker?.start();
  }

  /** One Send and its log line: `send /3/0/9,/3/0/13 -> 2.04 (2 values, SenML CBOR)`, or why it failed. */
  async sendNow(): Promise<void> {
    const label = `send ${this.#o.paths.join(',')}`;
    try {
      const r = await this.#o.send(this.#o.paths, { format: this.#format });
      if (this.#stopped) return;
      this.#o.log(`${label} -> ${r.code ?? r.status} (${r.records.length} value${r.records.length === 1 ? '' : 's'}, ${FORMAT_NAMES[r.format]})`);
    } catch (err) {
      if (this.#stopped) return;
      const message = err instanceof Error ? err.message : String(err);
      this.#o.log(err instanceof SendRejectedError && err.code !== undefined ? `${label} -> ${err.code} (${message})` : `${label} failed: ${message}`);
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#ticker?.stop();
  }
}
