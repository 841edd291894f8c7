// The project's one typed event emitter: events and their argument types checked, listeners that throw cannot break the emitter.

type Listener<T> = (event: T) => void;

/** Extended by the classes that emit events; `emit` is theirs, `on`/`once`/`off`/`next` their users'. */
export class TypedEmitter<E extends object> {
  /**
   * Name, listener, name, listener, … in the order added; made by the first `on`. One flat array rather than a map
   * of lists: a fleet holds a client per device, each with a few listeners, and emitters have few listeners.
   */
  #listeners: Array<keyof E | Listener<never>> | undefined;

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    (this.#listeners ??= []).push(name, listener as Listener<never>);
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
    const list = this.#listeners;
    if (!list) return;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name && list[i + 1] === listener) {
        list.splice(i, 2);
        return;
      }
    }
  }

  /** A promise of the next event of that name (handy in tests and startup code). */
  next<K extends keyof E>(name: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(name, resolve));
  }

  /** The listeners of one event, in order: a copy, so listeners added or removed while it is emitted wait for the next. */
  #of(name: keyof E): Array<Listener<never>> | undefined {
    const list = this.#listeners;
    let out: Array<Listener<never>> | undefined;
    if (list) for (let i = 0; i < list.length; i += 2) if (list[i] === name) (out ??= []).push(list[i + 1] as Listener<never>);
    return out;
  }

  /**
   * Calls the listeners in order. A listener that throws must not break the emitter's state machine (the
   * client's, the firmware updater's), so its error is re-emitted as 'error' (or dropped when it came from an
   * 'error' listener itself, or nobody listens for errors).
   */
  protected emit<K extends keyof E>(name: K, event: E[K]): void {
    const list = this.#of(name);
    if (!list) return;
    for (const l of list) {
      try {
        (l as Listener<E[K]>)(event);
      } catch (err) {
        if (name !== 'error' && this.#of('error' as K) !== undefined) {
          this.emit('error' as K, (err instanceof Error ? err : new Error(String(err))) as E[K]);
        }
      }
    }
  }
}
