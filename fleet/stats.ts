// What a fleet counts: registrations, errors by kind, requests served, notifications, and response times (p50/p99).

/** Response times in log-spaced buckets (2 % wide): constant memory for any number of samples, percentiles within 2 %. */
export class Histogram {
  static readonly #GROWTH = Math.log(1.02);
  readonly #buckets = new Map<number, number>();
  #count = 0;
  #max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0.001);
    const b = Math.floor(Math.log(v) / Histogram.#GROWTH);
    this.#buckets.set(b, (this.#buckets.get(b) ?? 0) + 1);
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0..1) in ms, the upper end of its bucket (never above the largest sample); undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (const b of [...this.#buckets.keys()].sort((x, y) => x - y)) {
      seen += this.#buckets.get(b)!;
      if (seen >= rank) return Math.min(this.#max, Math.exp((b + 1) * Histogram.#GROWTH));
    }
    return this.#max;
  }
}

/** A point-in-time copy of a fleet's figures. */
export interface FleetSnapshot {
  /** Devices asked for. */
  readonly target: number;
  /** Devices whose transport and client exist (started, not necessarily registered). */
  readonly started: number;
  /** Devices registered right now. */
  readonly registered: number;
  /** Devices that have registered at least once. */
  readonly everRegistered: number;
  /** Successful Registers (re-registrations included) and Updates. */
  readonly registrations: number;
  readonly updates: number;
  readonly deregistrations: number;
  /** Errors by kind (e.g. "register 4.03", "register timeout", "handler", "connect"). */
  readonly errors: Readonly<Record<string, number>>;
  /** Requests from the server the devices answered, and notifications they sent. */
  readonly requests: number;
  readonly notifications: number;
  /** Round trips of the devices' registration-interface requests (Register, Update, De-register), in ms. */
  readonly responseTime: { readonly count: number; readonly p50?: number; readonly p99?: number };
  /** Milliseconds since the fleet started. */
  readonly elapsedMs: number;
  /** Milliseconds from the start until every device had registered once, if that happened. */
  readonly allRegisteredMs?: number;
}

/** The counters a Fleet updates; `snapshot()` copies them. */
export class FleetStats {
  readonly target: number;
  readonly startedAt = performance.now();
  readonly responseTimes = new Histogram();
  readonly errors = new Map<string, number>();
  started = 0;
  registered = 0;
  everRegistered = 0;
  registrations = 0;
  updates = 0;
  deregistrations = 0;
  requests = 0;
  notifications = 0;
  allRegisteredAt: number | undefined;

  constructor(target: number) {
    this.target = target;
  }

  error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  firstRegistration(): void {
    this.everRegistered++;
    if (this.everRegistered === this.target) this.allRegisteredAt = performance.now();
  }

  snapshot(): FleetSnapshot {
    const rt = this.responseTimes;
    const p50 = rt.quantile(0.5);
    const p99 = rt.quantile(0.99);
    return {
      target: this.target,
      started: this.started,
      registered: this.registered,
      everRegistered: this.everRegistered,
      registrations: this.registrations,
      updates: this.updates,
      deregistrations: this.deregistrations,
      errors: Object.fromEntries([...this.errors].sort((a, b) => a[0].localeCompare(b[0]))),
      requests: this.requests,
      notifications: this.notifications,
      responseTime: { count: rt.count, ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) },
      elapsedMs: performance.now() - this.startedAt,
      ...(this.allRegisteredAt !== undefined ? { allRegisteredMs: this.allRegisteredAt - this.startedAt } : {}),
    };
  }
}
