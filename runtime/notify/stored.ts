// StoredQueue: what a client holds back while its server is unreachable (notifications, Sends), in order, bounded, optionally persisted.

/**
 * One held-back message. Generic on purpose: a notification is `kind: 'notify'` keyed by its observation's token, a
 * Send (POST /dp) can be `kind: 'send'`; the queue only orders, bounds and persists them, a deliverer per kind sends them.
 */
export interface StoredItem {
  /** Who delivers it: 'notify' (an observation's notification), 'send', ... */
  readonly kind: string;
  /** Items with one key are one stream (an observation): `hqmax` bounds per key, and 'latest' keeps one per key. */
  readonly key: string;
  /** When it was made, in ms since the epoch (the SenML base time it carries). */
  readonly time: number;
  readonly payload: Uint8Array;
  readonly contentFormat?: number;
  /** What the deliverer needs besides the payload (the token, the Observe sequence number); kept when persisted. */
  readonly meta?: Readonly<Record<string, string | number | boolean>>;
}

/** The queue's bounds; the oldest items go first when either is exceeded. */
export interface StoredQueueLimits {
  /** At most this many items (default 1000). */
  readonly maxCount?: number;
  /** At most this many payload bytes (default 262144, 256 KiB). */
  readonly maxBytes?: number;
}

export const DEFAULT_STORED_MAX_COUNT = 1000;
export const DEFAULT_STORED_MAX_BYTES = 256 * 1024;

/**
 * Why items left the queue undelivered: 'full' (the count or byte bound), 'hqmax' (the observation's own bound),
 * 'session-ended' (their observations ended: a new Register, a De-register), 'rejected' (the server refused one:
 * an RST to a stored notification).
 */
export type StoredDropReason = 'full' | 'hqmax' | 'session-ended' | 'rejected';

/** Items dropped undelivered, for the client's 'notifications-dropped' event. */
export interface StoredDropEvent {
  readonly reason: StoredDropReason;
  /** How many items went. */
  readonly count: number;
  /** Their kinds and keys (an observation's token as hex for 'notify'), oldest first. */
  readonly items: readonly { readonly kind: string; readonly key: string; readonly time: number }[];
}

/** How an item joins the queue: 'all' keeps every one (Notification Storing on), 'latest' only the newest of its key. */
export interface AddOptions {
  readonly mode: 'all' | 'latest';
  /** At most this many items of this key (the LwM2M 1.2 hqmax); 0 keeps only the latest. */
  readonly perKey?: number;
}

/** Where the queue lives across restarts: a section of the device's PersistentState fits (load, save). */
export interface StoredQueuePersistence {
  load(): unknown;
  save(value: readonly StoredItem[]): Promise<void>;
}

export interface StoredQueueOptions extends StoredQueueLimits {
  readonly persist?: StoredQueuePersistence;
  readonly onDropped?: (event: StoredDropEvent) => void;
  /** A save to `persist` failed. */
  readonly onError?: (error: Error) => void;
}

function isItem(v: unknown): v is StoredItem {
  if (v === null || typeof v !== 'object') return false;
  const o = v as { readonly [K in keyof StoredItem]?: unknown };
  return typeof o.kind === 'string' && typeof o.key === 'string' && typeof o.time === 'number' && o.payload instanceof Uint8Array
    && (o.contentFormat === undefined || typeof o.contentFormat === 'number')
    && (o.meta === undefined || (typeof o.meta === 'object' && o.meta !== null));
}

/** A FIFO of StoredItems bounded in count and bytes (oldest dropped first, and said so), persisted after each change. */
export class StoredQueue {
  readonly maxCount: number;
  readonly maxBytes: number;
  readonly #o: StoredQueueOptions;
  #items: StoredItem[] = [];
  #bytes = 0;

  constructor(options: StoredQueueOptions = {}) {
    this.#o = options;
    this.maxCount = Math.max(1, options.maxCount ?? DEFAULT_STORED_MAX_COUNT);
    this.maxBytes = Math.max(1, options.maxBytes ?? DEFAULT_STORED_MAX_BYTES);
    const kept = options.persist?.load();
    // What the store held from before a restart; anything not of the shape this file writes is left out.
    if (Array.isArray(kept)) {
      for (const item of kept) {
        if (!isItem(item)) continue;
        this.#items.push(item);
        this.#bytes += item.payload.length;
      }
    }
  }

  get size(): number {
    return this.#items.length;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The items, oldest first (a copy). */
  items(): StoredItem[] {
    return [...this.#items];
  }

  peek(): StoredItem | undefined {
    return this.#items[0];
  }

  /** Appends an item, then applies the bounds: the key's own (hqmax), then the queue's count and bytes. */
  add(item: StoredItem, options: AddOptions): void {
    const latestOnly = options.mode === 'latest' || options.perKey === 0;
    if (latestOnly) {
      // Only the newest of this key goes out later: the older ones are superseded, not lost, so no event.
      this.#remove((i) => i.kind === item.kind && i.key === item.key);
    } else if (options.perKey !== undefined) {
      const same = this.#items.filter((i) => i.kind === item.kind && i.key === item.key);
      const excess = same.length + 1 - options.perKey;
      if (excess > 0) {
        const gone = new Set(same.slice(0, excess));
        this.#drop('hqmax', this.#remove((i) => gone.has(i)));
      }
    }
    this.#items.push(item);
    this.#bytes += item.payload.length;
    const full: StoredItem[] = [];
    // The new item stays even when it alone exceeds maxBytes: dropping the newest would lose what is current.
    while (this.#items.length > 1 && (this.#items.length > this.maxCount || this.#bytes > this.maxBytes)) {
      const old = this.#items.shift()!;
      this.#bytes -= old.payload.length;
      full.push(old);
    }
    this.#drop('full', full);
    this.#save();
  }

  /** Removes the oldest item (it was delivered). */
  shift(): StoredItem | undefined {
    const item = this.#items.shift();
    if (item) {
      this.#bytes -= item.payload.length;
      this.#save();
    }
    return item;
  }

  /** Drops the items `match` picks, with an event saying why; returns how many. */
  discard(match: (item: StoredItem) => boolean, reason: StoredDropReason): number {
    const gone = this.#remove(match);
    if (gone.length > 0) {
      this.#drop(reason, gone);
      this.#save();
    }
    return gone.length;
  }

  #remove(match: (item: StoredItem) => boolean): StoredItem[] {
    const gone: StoredItem[] = [];
    const kept: StoredItem[] = [];
    for (const i of this.#items) (match(i) ? gone : kept).push(i);
    if (gone.length === 0) return gone;
    this.#items = kept;
    for (const i of gone) this.#bytes -= i.payload.length;
    return gone;
  }

  #drop(reason: StoredDropReason, items: readonly StoredItem[]): void {
    if (items.length === 0) return;
    this.#o.onDropped?.({ reason, count: items.length, items: items.map((i) => ({ kind: i.kind, key: i.key, time: i.time })) });
  }

  #save(): void {
    const persist = this.#o.persist;
    if (!persist) return;
    persist.save([...this.#items]).catch((err: unknown) => this.#o.onError?.(err instanceof Error ? err : new Error(String(err))));
  }
}
