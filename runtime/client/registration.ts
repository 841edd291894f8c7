// RegistrationEngine: the registration state machine with one LwM2M Server (Register, Update, De-register, retry, Disable).
import type { Clock, TimerHandle } from '../coap/clock.js';
import type { CoapEndpoint, IncomingResponse, Peer } from '../coap/types.js';
import { ContentFormat } from '../codec/index.js';
import type { ClientEvents } from './events.js';

/** CoAP MAX_TRANSMIT_WAIT (RFC 7252 4.8.2): an Update must start at least this long before the lifetime ends. */
const MAX_TRANSMIT_WAIT_S = 93;
/** How long a Register or Update may go unanswered before 'registration-pending' says so. */
const DEFAULT_PENDING_NOTICE_MS = 3000;

export interface RetryOptions {
  /** Delay before the second attempt, in ms (default 5000). */
  readonly initialDelayMs?: number;
  /** Upper bound of the delay, in ms (default 300000). */
  readonly maxDelayMs?: number;
  /** Growth per failure (default 2). */
  readonly factor?: number;
  /**
   * The delay after the n-th failure in a row (n from 1), in ms, or undefined to give up (the engine then calls
   * onExhausted). Replaces the delays above; lwm2mRetrySchedule makes the LwM2M 1.1 one from /1/x/17..20.
   */
  readonly schedule?: (failures: number) => number | undefined;
}

/** The LwM2M 1.1 registration retry resources (/1/x/17..20), in seconds where they are times. */
export interface CommunicationRetry {
  /** Communication Retry Count (/1/x/17): attempts in one sequence; default 5. */
  readonly retryCount?: number;
  /** Communication Retry Timer (/1/x/18): the first wait, doubled after each failure of a sequence; default 60 s. */
  readonly retryTimer?: number;
  /** Communication Sequence Delay Timer (/1/x/19): the wait between sequences; default 86400 s. */
  readonly sequenceDelay?: number;
  /** Communication Sequence Retry Count (/1/x/20): how many sequences; default 1. */
  readonly sequenceRetryCount?: number;
}

/**
 * LwM2M 1.1 6.2.1.1: within a sequence the k-th retry waits retryTimer * 2^(k-1); after a sequence's last attempt
 * the next sequence starts after sequenceDelay; after the last sequence the client gives up (undefined).
 */
export function lwm2mRetrySchedule(r: CommunicationRetry = {}): (failures: number) => number | undefined {
  const count = Math.max(1, r.retryCount ?? 5);
  const timer = r.retryTimer ?? 60;
  const sequenceDelay = r.sequenceDelay ?? 86400;
  const sequences = Math.max(1, r.sequenceRetryCount ?? 1);
  return (failures) => {
    const inSequence = (failures - 1) % count;
    const sequence = Math.floor((failures - 1) / count);
    if (inSequence < count - 1) return timer * 1000 * 2 ** inSequence;
    return sequence + 1 >= sequences ? undefined : sequenceDelay * 1000;
  };
}

/** A registration kept across a restart: where it is, and what its last Register or Update carried. */
export interface ResumedRegistration {
  readonly location: readonly string[];
  readonly lifetime: number;
  readonly binding: string;
  readonly links: string;
}

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'waiting' | 'disabled' | 'stopped';

/** The default Update time: 90% of the lifetime, but at least MAX_TRANSMIT_WAIT before it ends and at most halfway. */
export function defaultUpdateAfter(lifetime: number): number {
  return Math.max(lifetime / 2, lifetime - Math.max(lifetime / 10, MAX_TRANSMIT_WAIT_S));
}

/** A registration request the server answered with an error code. */
export class RegistrationError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'RegistrationError';
    this.code = code;
  }
}

/** How a client registers, as an app sets it (Lwm2mClientOptions takes these as they are). */
export interface RegistrationSettings {
  /** The `lwm2m=` version the client announces; default "1.1". */
  readonly lwm2mVersion?: string;
  /** Uri-Path of the registration interface; default ["rd"]. */
  readonly registrationPath?: readonly string[];
  /** Extra Register query items ("tk=…"), computed for every Register so a renewed token is picked up. */
  readonly extraQuery?: readonly string[] | (() => readonly string[]);
  /** When to send the Update, in seconds after a successful Register/Update, from the lifetime. */
  readonly updateAfter?: (lifetimeSeconds: number) => number;
  readonly retry?: RetryOptions;
  /** After how long an unanswered Register or Update is reported as 'registration-pending' (default 3000 ms). */
  readonly pendingNoticeMs?: number;
}

export interface RegistrationEngineOptions extends RegistrationSettings {
  readonly endpointName: string;
  readonly transport: CoapEndpoint;
  readonly server: Peer;
  readonly clock: Clock;
  /** What to register with, read at every Register and Update (the Server object and the object links). */
  readonly lifetime: () => number;
  readonly binding: () => string;
  readonly links: () => string;
  /** Seconds a Disable keeps the client away (/1/x/5). */
  readonly disableTimeout: () => number;
  /**
   * Observations belong to a registration: called when one ends or is replaced ('register', 'deregister'), or when
   * the client stops without de-registering ('stop': the server still holds them).
   */
  readonly endSession: (why: 'register' | 'deregister' | 'stop') => void;
  /** Queue mode (LwM2M 1.1): the Register says so (`Q`, or `b=UQ` to a 1.0 server). */
  readonly registerQueueMode?: boolean;
  /** Called before each Register or Update goes out (queue mode wakes the radio for its answer). */
  readonly beforeRequest?: () => void;
  readonly emit: <K extends keyof ClientEvents>(name: K, event: ClientEvents[K]) => void;
  /** The retry schedule gave up (see RetryOptions.schedule): the device falls back to bootstrap. */
  readonly onExhausted?: () => void;
  /**
   * Keep the observations over a Disable (Notification Storing on: what they notify meanwhile is delivered after the
   * Disable Timeout); by default a Disable's De-register ends them.
   */
  readonly keepSessionWhileDisabled?: () => boolean;
}

interface Sent {
  readonly lifetime: number;
  readonly binding: string;
  readonly links: string;
}

const utf8 = new TextEncoder();

/** Leshan's RegistrationEngine, for one server: one exchange at a time, timers for Update and retry. */
export class RegistrationEngine {
  readonly #o: RegistrationEngineOptions;
  #state: RegistrationState = 'idle';
  #location: readonly string[] | undefined;
  #sent: Sent | undefined;
  #attempts = 0;
  #queue: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #updateSoon: TimerHandle | undefined;
  /** Clock time of the last successful Register or Update: the registration lasts its lifetime from then. */
  #refreshedAt = 0;
  /** The next Register keeps the observations (the one after a Disable that kept them). */
  #keepSession = false;

  constructor(options: RegistrationEngineOptions) {
    this.#o = options;
  }

  get state(): RegistrationState {
    return this.#state;
  }

  /** The registration's Location-Path while registered. */
  get location(): readonly string[] | undefined {
    return this.#location;
  }

  /** What the last successful Register or Update carried, while registered (kept by the device's store). */
  get registration(): ResumedRegistration | undefined {
    return this.#location && this.#sent ? { location: this.#location, ...this.#sent } : undefined;
  }

  /**
   * Registers; resolves once the first attempt has finished, successful or not (failures retry in the background).
   * With `resume` (a registration kept across a restart) it sends an Update to that location instead; a 4.04
   * makes it Register.
   */
  async start(resume?: ResumedRegistration): Promise<void> {
    this.#attempts = 0;
    if (resume) {
      this.#state = 'registered';
      this.#location = [...resume.location];
      this.#sent = { lifetime: resume.lifetime, binding: resume.binding, links: resume.links };
      this.#refreshedAt = this.#o.clock.now();
      await this.#enqueue(() => this.#update());
      return;
    }
    this.#state = 'registering';
    await this.#enqueue(() => this.#register());
  }

  /**
   * Stops timers and de-registers when registered, after the exchange in flight. With `deregister: false` the
   * registration is left at the server (a device that keeps its session across a restart resumes it).
   */
  async stop(options: { readonly deregister?: boolean } = {}): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#cancelTimers();
    await this.#enqueue(async () => {
      if (this.#location && options.deregister !== false) await this.#deregister('stop');
    });
    this.#o.endSession('stop');
    this.#cancelTimers();
  }

  /** A new Register replacing the current registration (a renewed token only a Register carries). */
  async reregister(): Promise<void> {
    if (!this.#active()) return;
    await this.#enqueue(async () => {
      if (!this.#active()) return;
      this.#cancelTimers();
      this.#state = 'registering';
      this.#attempts = 0;
      await this.#register();
    });
  }

  /** Sends an Update now; a no-op unless registered. */
  async update(): Promise<void> {
    await this.#enqueue(() => this.#update());
  }

  /** Coalesces changes made in one go (several instances added, a Write of lifetime and binding) into one Update. */
  requestUpdate(): void {
    if (this.#state !== 'registered' || this.#updateSoon !== undefined) return;
    this.#updateSoon = this.#o.clock.setTimeout(() => {
      this.#updateSoon = undefined;
      void this.#enqueue(() => this.#update());
    }, 0);
  }

  /** Disable (/1/x/4): De-register, stay away for the Disable Timeout, then register again. */
  async disable(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    const seconds = this.#o.disableTimeout();
    this.#cancelTimers();
    this.#state = 'disabled';
    await this.#enqueue(async () => {
      if (this.#location) await this.#deregister('disable');
    });
    this.#keepSession = this.#o.keepSessionWhileDisabled?.() ?? false;
    if (this.#state !== 'disabled') return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'disabled') return;
      this.#state = 'registering';
      this.#attempts = 0;
      void this.#enqueue(() => this.#register());
    }, seconds * 1000);
  }

  /** A registration is held, and its lifetime (from the last successful Register or Update) has not run out. */
  #lasts(): boolean {
    return this.#location !== undefined && this.#sent !== undefined && this.#o.clock.now() < this.#refreshedAt + this.#sent.lifetime * 1000;
  }

  #active(): boolean {
    return this.#state !== 'idle' && this.#state !== 'stopped' && this.#state !== 'disabled';
  }

  /** Runs registration exchanges one at a time, in order; an operation's failure never breaks the chain. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(op).catch((err: unknown) => {
      this.#o.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
    this.#queue = run;
    return run;
  }

  #cancelTimers(): void {
    const clock = this.#o.clock;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    if (this.#updateSoon !== undefined) clock.clearTimeout(this.#updateSoon);
    this.#timer = undefined;
    this.#updateSoon = undefined;
  }

  #extraQuery(): readonly string[] {
    const q = this.#o.extraQuery;
    return typeof q === 'function' ? q() : q ?? [];
  }

  /** A request to the server that says so ('registration-pending') when it goes unanswered for a while. */
  async #request(operation: 'register' | 'update', request: Parameters<CoapEndpoint['request']>[1]): Promise<IncomingResponse> {
    this.#o.beforeRequest?.();
    const waitedMs = this.#o.pendingNoticeMs ?? DEFAULT_PENDING_NOTICE_MS;
    const notice = this.#o.clock.setTimeout(() => {
      this.#o.emit('registration-pending', { operation, server: this.#o.server, waitedMs, attempt: this.#attempts + 1 });
    }, waitedMs);
    try {
      return await this.#o.transport.request(this.#o.server, request);
    } finally {
      this.#o.clock.clearTimeout(notice);
    }
  }

  async #register(): Promise<void> {
    if (this.#state !== 'registering' && this.#state !== 'waiting') return;
    this.#state = 'registering';
    this.#location = undefined;
    if (!this.#keepSession) this.#o.endSession('register');
    this.#keepSession = false;
    const lifetime = this.#o.lifetime();
    const binding = this.#o.binding();
    const links = this.#o.links();
    const version = this.#o.lwm2mVersion ?? '1.1';
    // Queue mode is a letter of the binding in LwM2M 1.0, a registration parameter of its own from 1.1 on.
    const queue = this.#o.registerQueueMode === true;
    const legacyQueue = queue && version === '1.0';
    const query = [
      `ep=${this.#o.endpointName}`, `lt=${lifetime}`, `lwm2m=${version}`,
      `b=${legacyQueue && !binding.includes('Q') ? `${binding}Q` : binding}`,
      ...(queue && !legacyQueue ? ['Q'] : []),
      ...this.#extraQuery(),
    ];
    let res: IncomingResponse;
    try {
      res = await this.#request('register', {
        method: 'POST', path: this.#o.registrationPath ?? ['rd'], query, contentFormat: ContentFormat.LINK_FORMAT,
        payload: utf8.encode(links),
      });
    } catch (err) {
      this.#failed('register', err instanceof Error ? err : new Error(String(err)), undefined);
      return;
    }
    if (this.#state !== 'registering') {
      // stop() or Disable came while the Register was in flight: keep the location so their De-register reaches it.
      if (res.code === '2.01' && res.locationPath.length > 0) this.#location = [...res.locationPath];
      return;
    }
    if (res.code !== '2.01' || res.locationPath.length === 0) {
      const why = res.code === '2.01' ? 'Register answered 2.01 without a Location-Path' : `Register refused with ${res.code}`;
      this.#failed('register', new RegistrationError(why, res.code), res.code);
      return;
    }
    this.#location = [...res.locationPath];
    this.#sent = { lifetime, binding, links };
    this.#attempts = 0;
    this.#refreshedAt = this.#o.clock.now();
    this.#state = 'registered';
    this.#scheduleUpdate(lifetime);
    this.#o.emit('registered', { location: this.#location, lifetime });
  }

  #failed(operation: 'register' | 'update', error: Error, code: string | undefined): void {
    if (this.#state === 'stopped' || this.#state === 'disabled') return;
    this.#attempts++;
    const r = this.#o.retry ?? {};
    const delay = r.schedule ? r.schedule(this.#attempts) : Math.min(
      (r.initialDelayMs ?? 5000) * (r.factor ?? 2) ** (this.#attempts - 1),
      r.maxDelayMs ?? 300_000,
    );
    // An Update that got no answer leaves the registration where it is: the server holds it (and its observations)
    // until its lifetime runs out, so the next attempt is an Update to it. A refusal, or a lifetime gone, registers afresh.
    if (operation !== 'update' || code !== undefined || !this.#lasts()) this.#location = undefined;
    this.#state = 'waiting';
    this.#cancelTimers();
    if (delay === undefined) {
      this.#o.emit('registration-failed', code === undefined
        ? { operation, error, attempt: this.#attempts, retryInMs: -1 }
        : { operation, error, code, attempt: this.#attempts, retryInMs: -1 });
      this.#o.onExhausted?.();
      return;
    }
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#lasts()) this.#location = undefined;
      void this.#enqueue(() => (this.#location ? this.#update() : this.#register()));
    }, delay);
    this.#o.emit('registration-failed', code === undefined
      ? { operation, error, attempt: this.#attempts, retryInMs: delay }
      : { operation, error, code, attempt: this.#attempts, retryInMs: delay });
  }

  #scheduleUpdate(lifetime: number): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    const after = (this.#o.updateAfter ?? defaultUpdateAfter)(lifetime);
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueue(() => this.#update());
    }, Math.max(0, after) * 1000);
  }

  async #update(): Promise<void> {
    // 'waiting' with a location: retrying an Update that went unanswered.
    if ((this.#state !== 'registered' && this.#state !== 'waiting') || !this.#location || !this.#sent) return;
    const retrying = this.#state === 'waiting';
    const location = this.#location;
    const lifetime = this.#o.lifetime();
    const binding = this.#o.binding();
    const links = this.#o.links();
    const query: string[] = [];
    if (lifetime !== this.#sent.lifetime) query.push(`lt=${lifetime}`);
    if (binding !== this.#sent.binding) query.push(`b=${binding}`);
    const sendLinks = links !== this.#sent.links;
    let res: IncomingResponse;
    try {
      res = await this.#request('update', sendLinks
        ? { method: 'POST', path: location, query, contentFormat: ContentFormat.LINK_FORMAT, payload: utf8.encode(links) }
        : { method: 'POST', path: location, query });
    } catch (err) {
      this.#failed('update', err instanceof Error ? err : new Error(String(err)), undefined);
      return;
    }
    if (this.#state !== 'registered' && this.#state !== 'waiting') return;
    if (res.code === '4.04') {
      // The server forgot us (restart, expiry): register afresh right away.
      this.#o.emit('registration-failed', {
        operation: 'update', code: res.code, error: new RegistrationError('Update answered 4.04: registration unknown', res.code),
        attempt: 1, retryInMs: 0,
      });
      this.#location = undefined;
      this.#state = 'registering';
      this.#cancelTimers();
      await this.#register();
      return;
    }
    if (!res.code.startsWith('2.')) {
      this.#failed('update', new RegistrationError(`Update refused with ${res.code}`, res.code), res.code);
      return;
    }
    if (retrying) {
      this.#state = 'registered';
      this.#attempts = 0;
    }
    this.#refreshedAt = this.#o.clock.now();
    this.#sent = { lifetime, binding, links };
    this.#scheduleUpdate(lifetime);
    const event: { location: readonly string[]; links: boolean; lifetime?: number; binding?: string } = { location, links: sendLinks };
    if (query.some((q) => q.startsWith('lt='))) event.lifetime = lifetime;
    if (query.some((q) => q.startsWith('b='))) event.binding = binding;
    this.#o.emit('updated', event);
  }

  async #deregister(reason: 'stop' | 'disable'): Promise<void> {
    const location = this.#location;
    if (!location) return;
    this.#location = undefined;
    this.#sent = undefined;
    if (reason !== 'disable' || !this.#o.keepSessionWhileDisabled?.()) this.#o.endSession('deregister');
    try {
      const res = await this.#o.transport.request(this.#o.server, { method: 'DELETE', path: location });
      if (!res.code.startsWith('2.') && res.code !== '4.04') {
        this.#o.emit('error', new RegistrationError(`De-register answered ${res.code}`, res.code));
      }
    } catch (err) {
      // The server may be gone; the client is de-registered from its own point of view either way.
      this.#o.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
    this.#o.emit('deregistered', { location, reason });
  }
}
