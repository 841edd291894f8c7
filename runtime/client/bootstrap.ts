// Client-initiated bootstrap: Client Hold Off Time, POST /bs?ep=…, serving the bootstrap server until Finish, retries with backoff.
import type { Clock } from '../coap/clock.js';
import type { IncomingRequest, OutgoingResponse, Peer } from '../coap/types.js';
import { formatPath } from '../model.js';
import { BootstrapSession, type BootstrapOperation } from './bootstrap-session.js';
import { openServerTransport, type ServerTransport, type ServerTransportOptions } from './connect.js';
import type { ObjectRegistry } from './registry.js';
import type { SecurityAccount } from './security-object.js';

/** One step of a bootstrap, for the device's 'bootstrap' event. Never carries a key or a payload. */
export type BootstrapStep =
  | { readonly step: 'hold-off'; readonly seconds: number }
  | { readonly step: 'request'; readonly uri: string; readonly attempt: number }
  | { readonly step: BootstrapOperation; readonly path: string; readonly code: string }
  | { readonly step: 'retry'; readonly reason: string; readonly attempt: number; readonly retryInMs: number }
  | { readonly step: 'done' }
  | { readonly step: 'failed'; readonly reason: string }
  /** The Bootstrap-Server Account Timeout (/0/x/12) ran out: the account at `path` was purged. */
  | { readonly step: 'account-removed'; readonly path: string; readonly seconds: number };

/** The bootstrap gave up (its retry schedule ran out) or was stopped. */
export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

export interface BootstrapRunOptions {
  readonly endpointName: string;
  /** The Bootstrap-Server account (/0 instance with Bootstrap-Server true). */
  readonly account: SecurityAccount;
  readonly registry: ObjectRegistry;
  readonly clock: Clock;
  /** Transport options besides the account's credentials (CoAP timings, handshake timeout). */
  readonly transport?: Omit<ServerTransportOptions, 'pskIdentity' | 'pskKey'>;
  /** Announced as `pct=` and used for Bootstrap-Read; default none announced, TLV used. */
  readonly preferredFormat?: number;
  readonly lwm2mVersion?: string;
  /** Wait the account's Client Hold Off Time first (a client-initiated bootstrap at start). */
  readonly holdOff: boolean;
  /**
   * How long the client waits for the next bootstrap operation (and so for Finish) before it counts the attempt as
   * failed; default 247 s (CoAP EXCHANGE_LIFETIME).
   */
  readonly idleTimeoutMs?: number;
  /** The delay after the n-th failed attempt in ms, or undefined to give up; default 5 s doubling up to 5 min, 6 attempts. */
  readonly schedule?: (failures: number) => number | undefined;
  readonly onStep: (step: BootstrapStep) => void;
  /** True once the device is stopping: the bootstrap gives up at the next chance. */
  readonly stopped: () => boolean;
}

const DEFAULT_IDLE_MS = 247_000;

function defaultSchedule(failures: number): number | undefined {
  return failures >= 6 ? undefined : Math.min(5000 * 2 ** (failures - 1), 300_000);
}

function samePeer(a: Peer, b: Peer): boolean {
  const n = (s: string): string => (s.startsWith('::ffff:') ? s.slice(7) : s);
  return a.port === b.port && n(a.address) === n(b.address);
}

/**
 * Runs a client-initiated bootstrap until a Finish is answered 2.04; resolves with that session (not committed:
 * the caller commits it). Rejects with BootstrapError once the schedule gives up or the device stops.
 */
export async function runBootstrap(o: BootstrapRunOptions): Promise<BootstrapSession> {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => o.clock.setTimeout(resolve, ms));
  if (o.holdOff && o.account.clientHoldOffTime > 0) {
    o.onStep({ step: 'hold-off', seconds: o.account.clientHoldOffTime });
    await sleep(o.account.clientHoldOffTime * 1000);
  }
  const schedule = o.schedule ?? defaultSchedule;
  for (let failures = 0; ; ) {
    if (o.stopped()) throw new BootstrapError('the device stopped during bootstrap');
    let reason: string;
    try {
      const session = await attempt(o, failures + 1);
      if (session) {
        o.onStep({ step: 'done' });
        return session;
      }
      reason = 'no Bootstrap-Finish came';
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    failures++;
    const delay = o.stopped() ? undefined : schedule(failures);
    if (delay === undefined) {
      o.onStep({ step: 'failed', reason });
      throw new BootstrapError(`bootstrap failed after ${failures} attempt(s): ${reason}`);
    }
    o.onStep({ step: 'retry', reason, attempt: failures, retryInMs: delay });
    await sleep(delay);
  }
}

/** One attempt: the session when a Finish was answered 2.04, undefined when the server went quiet. Throws on a refused request. */
async function attempt(o: BootstrapRunOptions, n: number): Promise<BootstrapSession | undefined> {
  const a = o.account;
  const transport: ServerTransport = await openServerTransport(a.uri, {
    ...o.transport,
    ...(a.pskIdentity !== undefined && a.pskKey !== undefined ? { pskIdentity: a.pskIdentity, pskKey: a.pskKey } : {}),
  });
  const session = new BootstrapSession(o.registry, {
    ...(o.preferredFormat !== undefined ? { preferredFormat: o.preferredFormat } : {}),
    ...(o.lwm2mVersion !== undefined ? { lwm2mVersion: o.lwm2mVersion } : {}),
  });
  const idleMs = o.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  try {
    return await new Promise<BootstrapSession | undefined>((resolve, reject) => {
      let idle = o.clock.setTimeout(() => resolve(undefined), idleMs);
      const rearm = (): void => {
        o.clock.clearTimeout(idle);
        idle = o.clock.setTimeout(() => resolve(undefined), idleMs);
      };
      transport.endpoint.serve(async (req: IncomingRequest): Promise<OutgoingResponse> => {
        if (!samePeer(req.peer, transport.server)) return { code: '4.03' };
        rearm();
        const answer = await session.handle(req);
        o.onStep({ step: answer.operation, path: answer.path ? formatPath(answer.path) : `/${req.path.join('/')}`, code: answer.response.code });
        if (answer.finished) {
          o.clock.clearTimeout(idle);
          // The 2.04 is written in this handler's continuation; the session ends after it is out.
          setTimeout(() => resolve(session), 50);
        }
        return answer.response;
      });
      o.onStep({ step: 'request', uri: a.uri, attempt: n });
      const query = [`ep=${o.endpointName}`, ...(o.preferredFormat !== undefined ? [`pct=${o.preferredFormat}`] : [])];
      transport.endpoint.request(transport.server, { method: 'POST', path: ['bs'], query }).then((res) => {
        if (res.code !== '2.04') {
          o.clock.clearTimeout(idle);
          reject(new BootstrapError(`Bootstrap-Request answered ${res.code}`));
        }
      }, (err: unknown) => {
        o.clock.clearTimeout(idle);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  } finally {
    await transport.endpoint.close().catch(() => undefined);
  }
}
