// PersistentState: the device's sections in memory, read once at start and written back whole, coalescing bursts of changes.
import { StoreError, type StateStore, type StoredSections, type StoredValue } from './types.js';

/** One named part of the state; `load` is synchronous (the document is read once, at open). */
export interface StateSection<T> {
  load(): T | undefined;
  /** Replaces the section; resolves once a document holding this value is on disk. */
  save(value: T): Promise<void>;
  delete(): Promise<void>;
}

export interface OpenedState {
  readonly state: PersistentState;
  /** True when a saved document was read back. */
  readonly restored: boolean;
  /** Why nothing was restored although something was there (corrupt, unreadable); the app reports it and starts from its factory configuration. */
  readonly problem?: StoreError;
  /** Where an unreadable document was moved (it is kept, never overwritten). */
  readonly quarantinedTo?: string;
}

export class PersistentState {
  readonly store: StateStore;
  #sections: Record<string, StoredValue>;
  #writing: Promise<void> | undefined;
  #dirty = false;
  #waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  private constructor(store: StateStore, sections: StoredSections) {
    this.store = store;
    this.#sections = { ...sections };
  }

  /** Reads the store once. An unreadable document is moved aside and reported in `problem`; the state then starts empty. */
  static async open(store: StateStore): Promise<OpenedState> {
    try {
      const sections = await store.load();
      return { state: new PersistentState(store, sections ?? {}), restored: sections !== undefined };
    } catch (e) {
      const problem = e instanceof StoreError ? e : new StoreError('io', `${store.where}: cannot read`);
      const quarantinedTo = problem.failure === 'io' ? undefined : await store.quarantine?.();
      return {
        state: new PersistentState(store, {}),
        restored: false,
        problem,
        ...(quarantinedTo === undefined ? {} : { quarantinedTo }),
      };
    }
  }

  /** The names of the sections held. */
  names(): string[] {
    return Object.keys(this.#sections).sort();
  }

  section<T>(name: string): StateSection<T> {
    return {
      load: () => this.#sections[name] as T | undefined,
      save: (value: T) => {
        this.#sections[name] = value as StoredValue;
        return this.#schedule();
      },
      delete: () => {
        delete this.#sections[name];
        return this.#schedule();
      },
    };
  }

  /** Resolves once every change made so far is on disk. */
  flush(): Promise<void> {
    return this.#writing || this.#dirty ? this.#schedule() : Promise.resolve();
  }

  // At most one write in flight; changes made meanwhile go out together in the next one.
  #schedule(): Promise<void> {
    this.#dirty = true;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#writing) this.#writing = this.#drain();
    return done;
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      try {
        await this.store.save(this.#sections);
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    }
    this.#writing = undefined;
  }
}
