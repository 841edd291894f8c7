// RegistrationEngine on its own, on a manual clock over an in-memory network: Register, Update, pending notice, retry, Disable.
import { ManualClock, MemoryNetwork, createCoapEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { RegistrationEngine, lwm2mRetrySchedule, type RegistrationEngineOptions } from '../../../runtime/client/registration.js';
import type { ClientEvents } from '../../../runtime/client/events.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Rig {
  clock: ManualClock;
  server: TestLwm2mServer;
  endpoint: CoapEndpoint;
  engine: RegistrationEngine;
  events: Array<[keyof ClientEvents, unknown]>;
  sessions: number;
  lifetime: number;
}

async function rig(over: Partial<RegistrationEngineOptions> = {}): Promise<Rig> {
  const clock = new ManualClock();
  const network = new MemoryNetwork();
  const coap = { clock, random: () => 0, maxRetransmit: 2, ackTimeout: 2000 };
  const server = await TestLwm2mServer.start({ transport: network.createTransport('10.0.0.2', 5683), coap });
  const endpoint = createCoapEndpoint(network.createTransport('10.0.0.1', 56830), coap);
  const r: Rig = { clock, server, endpoint, engine: undefined as unknown as RegistrationEngine, events: [], sessions: 0, lifetime: 120 };
  r.engine = new RegistrationEngine({
    endpointName: 'eng', transport: endpoint, server: server.address(), clock,
    lifetime: () => r.lifetime, binding: () => 'U', links: () => '</3/0>', disableTimeout: () => 10,
    endSession: () => { r.sessions++; },
    emit: (name, event) => { r.events.push([name, event]); },
    retry: { initialDelayMs: 1000 },
    ...over,
  });
  return r;
}

async function close(r: Rig): Promise<void> {
  await r.engine.stop();
  await r.endpoint.close();
  await r.server.close();
}

describe('RegistrationEngine', () => {
  it('registers with lt=, b= and the links, then updates before the lifetime ends', async () => {
    const r = await rig();
    const started = r.engine.start();
    await flush();
    await started;
    expect(r.engine.state).toBe('registered');
    expect(r.server.findRegistration('eng')).toMatchObject({ lifetime: 120, binding: 'U', links: '</3/0>' });
    r.lifetime = 200;
    r.clock.advance(60_000);
    await flush();
    expect(r.events.filter(([n]) => n === 'updated')).toEqual([['updated', { location: ['rd', '1'], links: false, lifetime: 200 }]]);
    await close(r);
  });

  it("says 'registration-pending' when the Register goes unanswered, then fails and retries", async () => {
    const r = await rig({ pendingNoticeMs: 3000 });
    r.server.down = true;
    void r.engine.start();
    await flush();
    r.clock.advance(2999);
    await flush();
    expect(r.events.map(([n]) => n)).toEqual([]);
    r.clock.advance(1);
    await flush();
    expect(r.events).toEqual([['registration-pending', { operation: 'register', server: r.server.address(), waitedMs: 3000, attempt: 1 }]]);
    // 2 s, 4 s, 8 s of retransmission, then the exchange times out and the retry is scheduled.
    r.clock.advance(20_000);
    await flush();
    expect(r.events.find(([n]) => n === 'registration-failed')?.[1]).toMatchObject({ operation: 'register', attempt: 1, retryInMs: 1000 });
    expect(r.engine.state).toBe('waiting');
    r.server.down = false;
    r.clock.advance(1000);
    await flush();
    expect(r.engine.state).toBe('registered');
    // An answered request raises no notice.
    expect(r.events.filter(([n]) => n === 'registration-pending')).toHaveLength(1);
    await close(r);
  });

  it('Disable de-registers, waits the Disable Timeout, and registers again', async () => {
    const r = await rig();
    const started = r.engine.start();
    await flush();
    await started;
    const disabled = r.engine.disable();
    await flush();
    await disabled;
    expect(r.engine.state).toBe('disabled');
    expect(r.events.at(-1)).toEqual(['deregistered', { location: ['rd', '1'], reason: 'disable' }]);
    r.clock.advance(10_000);
    await flush();
    expect(r.engine.state).toBe('registered');
    expect(r.sessions).toBeGreaterThanOrEqual(3);
    await close(r);
  });
});

describe('an Update that goes unanswered', () => {
  /** Moves the manual clock in steps, letting the in-memory network deliver between them. */
  async function pass(r: Rig, ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 500) {
      r.clock.advance(500);
      await flush();
    }
  }

  async function registered(): Promise<Rig> {
    const r = await rig();
    const started = r.engine.start();
    await flush();
    await started;
    return r;
  }

  it('is retried as an Update to the same registration while its lifetime lasts, keeping the session', async () => {
    const r = await registered();
    const sessions = r.sessions;
    r.server.down = true;
    void r.engine.update();
    await pass(r, 20_000);
    expect(r.events.filter(([n]) => n === 'registration-failed').map(([, e]) => (e as ClientEvents['registration-failed']).operation)).toContain('update');
    expect(r.engine.state).toBe('waiting');
    expect(r.engine.location).toEqual(['rd', '1']);
    r.server.down = false;
    await pass(r, 20_000);
    expect(r.engine.state).toBe('registered');
    expect(r.server.log.map((e) => e.kind).filter((k) => k === 'register')).toHaveLength(1);
    expect(r.server.findRegistration('eng')!.updates).toBeGreaterThan(0);
    expect(r.sessions).toBe(sessions);
    await close(r);
  });

  it('registers afresh once the lifetime has run out, ending the session', async () => {
    const r = await registered();
    const sessions = r.sessions;
    r.server.down = true;
    void r.engine.update();
    // The lifetime is 120 s; retries every second or so (the backoff doubles, capped by the default 300 s) go past it.
    await pass(r, 125_000);
    r.server.down = false;
    await pass(r, 300_000);
    expect(r.engine.state).toBe('registered');
    expect(r.server.log.filter((e) => e.kind === 'register' && e.code === '2.01')).toHaveLength(2);
    expect(r.sessions).toBeGreaterThan(sessions);
    await close(r);
  });
});

describe('lwm2mRetrySchedule (LwM2M 1.1 6.2.1.1)', () => {
  it('doubles the Communication Retry Timer within a sequence, waits the Sequence Delay between sequences, then gives up', () => {
    const s = lwm2mRetrySchedule({ retryCount: 3, retryTimer: 10, sequenceDelay: 600, sequenceRetryCount: 2 });
    expect([1, 2, 3, 4, 5, 6].map(s)).toEqual([10_000, 20_000, 600_000, 10_000, 20_000, undefined]);
    const d = lwm2mRetrySchedule();
    expect([1, 2, 3, 4, 5].map(d)).toEqual([60_000, 120_000, 240_000, 480_000, undefined]);
  });
});
