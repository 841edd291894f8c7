// The persistent store's contract: one document of named sections, loaded once and replaced whole, atomically.
/** A JSON value, plus the three kinds LwM2M values need that JSON lacks: bytes, instants and big integers. */
export type StoredValue =
  | null | boolean | number | string | Uint8Array | Date | bigint
  | readonly StoredValue[]
  | { readonly [key: string]: StoredValue | undefined };

/** Everything a device keeps across restarts, by section name ("security", "servers", "firmware", …). */
export type StoredSections = Readonly<Record<string, StoredValue>>;

/**
 * Where the sections live. `load` returns undefined when nothing was ever saved, and throws StoreError when what is
 * there cannot be read back (the caller then falls back to its factory configuration); `save` replaces the whole
 * document so that a crash at any moment leaves either the previous document or the new one, never a mix.
 */
export interface StateStore {
  load(): Promise<StoredSections | undefined>;
  save(sections: StoredSections): Promise<void>;
  /** Moves an unreadable document aside (kept for diagnosis, out of the next save's way); returns where it went. */
  quarantine?(): Promise<string | undefined>;
  /** A human-readable name for messages (a file path); never the contents. */
  readonly where: string;
}

export type StoreFailure = 'corrupt' | 'io' | 'unsupported';

/** The store could not be read or written; the message names the store and the cause, never the stored values. */
export class StoreError extends Error {
  readonly failure: StoreFailure;
  constructor(failure: StoreFailure, message: string) {
    super(message);
    this.name = 'StoreError';
    this.failure = failure;
  }
}
