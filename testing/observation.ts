// A typed observation: the first value, then each notification decoded by the model, as an async iterator that cancel() ends.
import type { Notification, Observation } from './server.js';
import { RequestError } from './errors.js';

/** One response or notification as the decoder needs it. */
export interface ObservedPayload {
  readonly code: string;
  readonly contentFormat?: number | undefined;
  readonly payload: Uint8Array;
}

/**
 * An Observe the test made on a device. `value` is what the first response carried; `next()` (or `for await`) gives
 * each later notification's value in order, also those that came before it was called. `cancel()` ends it.
 * A notification with an error code (4.04 after the target is deleted) ends it too: `next()` rejects with a
 * {@link RequestError}.
 */
export class TypedObservation<V> implements AsyncIterable<V> {
  /** The value of the first response. */
  readonly value: V;
  /** The Observe option of the first response. */
  readonly observe: number | undefined;
  readonly path: string;
  readonly #raw: Observation;
  readonly #decode: (p: ObservedPayload) => V;
  readonly #cancel: () => Promise<void>;
  #ended: (() => void) | undefined;
  readonly #endedPromise: Promise<void>;
  #cancelled = false;

  /** @internal Made by RegisteredDevice.observe. */
  constructor(path: string, raw: Observation, first: V, decode: (p: ObservedPayload) => V, cancel: () => Promise<void>) {
    this.path = path;
    this.#raw = raw;
    this.value = first;
    this.observe = raw.response.observe;
    this.#decode = decode;
    this.#cancel = cancel;
    this.#endedPromise = new Promise((resolve) => {
      this.#ended = resolve;
    });
  }

  /** True once cancel() was called. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The raw notifications received so far (code, Observe, Content-Format, payload, CON or NON). */
  get notifications(): readonly Notification[] {
    return this.#raw.notifications;
  }

  /**
   * The next notification's value. Rejects with a RequestError for an error notification, and with an Error after
   * cancel() or when `timeoutMs` passes first.
   */
  async next(timeoutMs?: number): Promise<V> {
    const r = await this.#nextResult(timeoutMs);
    if (r.done) throw new Error(`the observation of ${this.path} was cancelled`);
    return r.value;
  }

  async #nextResult(timeoutMs: number | undefined): Promise<IteratorResult<V, undefined>> {
    if (this.#cancelled) return { done: true, value: undefined };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = timeoutMs === undefined ? new Promise<never>(() => {}) : new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no notification of ${this.path} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const n = await Promise.race([this.#raw.next(), this.#endedPromise.then(() => undefined), timeout]);
      if (n === undefined) return { done: true, value: undefined };
      if (!n.code.startsWith('2.')) {
        this.#stop();
        throw new RequestError('observe', this.path, n.code as RequestError['code'], new TextDecoder().decode(n.payload) || undefined);
      }
      return { done: false, value: this.#decode(n) };
    } finally {
      clearTimeout(timer);
    }
  }

  #stop(): void {
    this.#cancelled = true;
    this.#raw.reset();
    this.#ended?.();
  }

  /** Cancels the observation on the device (GET with Observe=1) and ends the iteration. */
  async cancel(): Promise<void> {
    if (this.#cancelled) return;
    this.#stop();
    await this.#cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<V, undefined> {
    return {
      next: () => this.#nextResult(undefined),
      return: async () => {
        await this.cancel();
        return { done: true, value: undefined };
      },
    };
  }
}
