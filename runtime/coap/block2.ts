// Outgoing Block2 for every transport: large responses cached per requester and served block by block, and large notifications.
import { blockBytes, unitOf, type BlockProfile } from './blocks.js';
import type { Clock } from './clock.js';
import { OptionNumber as O, encodeBlock, encodeUint } from './message.js';
import { diagnostic, type Reply } from './reply.js';
import type { RawOption } from './types.js';

export interface Block2Options {
  readonly clock: Clock;
  readonly profile: BlockProfile;
  /** Large responses kept for follow-up requests; the oldest goes beyond this. */
  readonly maxEntries: number;
  /** How long a cached response serves follow-up requests. */
  readonly lifetime: number;
}

interface Entry {
  readonly reply: Reply;
  readonly expires: number;
}

/** Keeps a map of bounded size: drops expired entries from the oldest end, then the oldest if still full. */
export function makeRoom<V extends { expires: number }>(map: Map<string | number, V>, max: number, now: number): void {
  for (const [key, value] of map) {
    if (value.expires > now && map.size < max) break;
    if (value.expires <= now || map.size >= max) map.delete(key);
  }
}

/** The Block2 side of one endpoint: the cache of large representations and the observations whose notifications may be large. */
export class Block2Server {
  // The three tables are made when first written: most endpoints never serve a large response.
  private entries: Map<string, Entry> | undefined;
  /** Observation (peer|token) → cache key of the observed resource, so large notifications can be fetched with GETs. */
  private observations: Map<string, { key: string; expires: number }> | undefined;
  /** A second name of a cached entry (a FETCH without its body → the last FETCH's entry), see `alias`. */
  private aliases: Map<string, { key: string; expires: number }> | undefined;

  constructor(private readonly o: Block2Options) {}

  /** Block `num` of a cached representation, or undefined when none is cached (or it expired). */
  cached(key: string, num: number, szx: number, extra: readonly RawOption[]): Reply | undefined {
    const entry = this.entries?.get(key);
    return entry && entry.expires > this.o.clock.now() ? this.slice(entry.reply, num, szx, extra) : undefined;
  }

  /** Caches a large response under `key` and answers its first block. */
  first(key: string, reply: Reply, szx: number): Reply {
    const now = this.o.clock.now();
    const entries = (this.entries ??= new Map());
    entries.delete(key);
    makeRoom(entries, this.o.maxEntries, now);
    entries.set(key, {
      // Later blocks answer plain GETs: they never carry Observe.
      reply: { ...reply, options: reply.options.filter((o) => o.number !== O.Observe && o.number !== O.Block1) },
      expires: now + this.o.lifetime,
    });
    return this.slice(reply, 0, szx, []);
  }

  /** Gives the cached entry `key` a second name, valid as long as the entry. */
  alias(name: string, key: string): void {
    const now = this.o.clock.now();
    const aliases = (this.aliases ??= new Map());
    aliases.delete(name);
    makeRoom(aliases, this.o.maxEntries, now);
    aliases.set(name, { key, expires: now + this.o.lifetime });
  }

  /** The entry key a second name stands for, while it lasts. */
  resolve(name: string): string | undefined {
    const a = this.aliases?.get(name);
    return a && a.expires > this.o.clock.now() ? a.key : undefined;
  }

  /** Block `num` of a representation at `szx` (BERT: NUM counts 1024-byte units, a block holds several). */
  slice(reply: Reply, num: number, szx: number, extra: readonly RawOption[]): Reply {
    const size = blockBytes(this.o.profile, szx, reply.options);
    const offset = num * unitOf(szx);
    if (offset >= reply.payload.length && num > 0) return diagnostic('4.02', `block ${num} is beyond the end`);
    const more = offset + size < reply.payload.length;
    const options: RawOption[] = [...reply.options, ...extra, { number: O.Block2, value: encodeBlock({ num, more, szx }) }];
    if (num === 0) options.push({ number: O.Size2, value: encodeUint(reply.payload.length) });
    return { code: reply.code, options, payload: reply.payload.subarray(offset, offset + size) };
  }

  /** Remembers an observation (observer key, e.g. peer|token) and the cache key its notifications are fetched under. */
  observe(observation: string, key: string): void {
    const now = this.o.clock.now();
    const observations = (this.observations ??= new Map());
    observations.delete(observation);
    makeRoom(observations, 1024, now);
    observations.set(observation, { key, expires: now + 24 * 3600_000 });
  }

  /** A notification as it goes out: its first block when it is too large and the observation is known. */
  notification(observation: string, reply: Reply): Reply {
    if (this.o.profile.fits(reply.options, reply.payload.length)) return reply;
    const obs = this.observations?.get(observation);
    // The observer fetches the rest with GETs on the observed resource, served from the cache.
    return obs ? this.first(obs.key, reply, this.o.profile.splitSzx(reply.options)) : reply;
  }

  clear(): void {
    this.entries = undefined;
    this.observations = undefined;
    this.aliases = undefined;
  }
}
