// The project's one typed event emitter: events and their argument types checked, listeners that throw cannot break the emitter.

type Listener<T> = (event: T) => void;

/** Extended by the classes that emit events; `emit` is theirs, `on`/`once`/`off`/`next` their users'. */
export class TypedEmitter<E extends object> {
  readonly #listeners = new Map<keyof E, Array<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    const list = this.#listeners.get(name) ?? [];
    list.push(listener as Listener<never>);
    this.#listeners.set(name, list);
    return () => this.off(name, listener);
  }

  once<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    const off = this.on(name, (e) => {
      off();
      listener(e);
    });
    return off;
  }

  off<K extends keyof E>(name: K, listener: Listener<E[K]>): void {
    const list = this.#listeners.get(name);
    if (!list) return;
    const i = list.indexOf(listener as Listener<never>);
    if (i >= 0) list.splice(i, 1);
  }

  /** A promise of the next event of that name (handy in tests and startup code). */
  next<K extends keyof E>(name: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(name, resolve));
  }

  /**
   * Calls the listeners in order. A listener that throws must not break the emitter's state machine (the
   * client's, the firmware updater's), so its error is re-emitted as 'error' (or dropped when it came from an
   * 'error' listener itself, or nobody listens for errors).
   */
  protected emit<K extends keyof E>(name: K, event: E[K]): void {
    const list = this.#listeners.get(name);
    if (!list) return;
    for (const l of [...list]) {
      try {
        (l as Listener<E[K]>)(event);
      } catch (err) {
        if (name !== 'error' && (this.#listeners.get('error' as K)?.length ?? 0) > 0) {
          this.emit('error' as K, (err instanceof Error ? err : new Error(String(err))) as E[K]);
        }
      }
    }
  }
}
