// The in-process LwM2M server of lwm2m-gen/testing: registration interface, raw device-management requests and Observe over UDP.
import {
  createCoapEndpoint, createUdpTransport,
  type CoapEndpoint, type CoapEndpointOptions, type DatagramTransport, type IncomingRequest, type IncomingResponse,
  type OutgoingRequest, type OutgoingResponse, type Peer,
} from 'lwm2m-gen/runtime';
import { RegisteredDevice } from './device.js';
import { RegistrationTimeoutError, MalformedRegistrationError } from './errors.js';
import { DtlsPskServer } from './dtls-server.js';
import { ObservationTap, type Observation } from './observe-tap.js';
import { queryValue, registerProblem, updateProblem } from './registration.js';
import { acceptSend, type SendReport } from './send.js';

export type { Notification, Observation } from './observe-tap.js';
export type { SendReport, SentValue } from './send.js';

/** One client registration as the server keeps it. */
export interface Registration {
  readonly endpoint: string;
  /** The registration's id, the last Location-Path segment ("rd", id). */
  readonly id: string;
  readonly peer: Peer;
  lifetime: number;
  binding: string;
  lwm2mVersion: string | undefined;
  /** The object links of the last Register or Update that carried them. */
  links: string;
  /** The Register's query items, all of them, in order. */
  readonly query: readonly string[];
  updates: number;
  /** When the Register came, and the last Register or Update (ms since the epoch). */
  readonly registeredAt: number;
  lastUpdateAt: number;
}

/** A registration that came (Register), was refreshed (Update) or went (De-register, `forget`, a new Register of its endpoint). */
export interface RegistrationEvent {
  readonly kind: 'registered' | 'updated' | 'deregistered';
  readonly registration: Registration;
}

/** A Register or Update the server refused with 4.00 as malformed, and why. */
export interface RejectedRegistration {
  readonly kind: 'register' | 'update';
  readonly peer: Peer;
  /** The endpoint name the request carried (Register), or the registration it addressed (Update), when known. */
  readonly endpoint: string | undefined;
  readonly query: readonly string[];
  readonly reason: string;
}

/**
 * What the server saw on its registration and information reporting interfaces, in order. A Send (kind 'send') is
 * logged without its body, which may hold the device's values: see `sends()`.
 */
export interface RegistrationLogEntry {
  readonly kind: 'register' | 'update' | 'deregister' | 'send' | 'other';
  readonly peer: Peer;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: string;
  readonly code: string;
}

/** How to start a TestLwm2mServer. */
export interface TestServerOptions {
  /** Options of the CoAP endpoint (short ackTimeout in tests). */
  readonly coap?: CoapEndpointOptions;
  /** Location-Path prefix, default "rd". */
  readonly root?: string;
  /** A transport to serve on (e.g. from a MemoryNetwork); default a UDP socket on 127.0.0.1, ephemeral port. */
  readonly transport?: DatagramTransport;
  /**
   * Serve coaps:// (DTLS 1.2, TLS_PSK_WITH_AES_128_CCM_8) with these keys by PSK identity instead of plain UDP.
   * Handshakes that fail are listed in `dtls.failures`.
   */
  readonly psk?: Readonly<Record<string, Uint8Array>>;
}

/** Options of {@link TestLwm2mServer.registration}. */
export interface WaitOptions {
  /** How long to wait, in milliseconds; default 5000. */
  readonly timeoutMs?: number;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A Send (LwM2M 1.1 information reporting): POST to /dp. */
function isSend(req: IncomingRequest): boolean {
  return req.method === 'POST' && req.path.length === 1 && req.path[0] === 'dp';
}

function samePeer(a: Peer, b: Peer): boolean {
  const bare = (x: string): string => (x.startsWith('::ffff:') ? x.slice(7) : x);
  return a.port === b.port && bare(a.address) === bare(b.address);
}

/**
 * An LwM2M server for tests, in the test's own process, on a UDP socket of 127.0.0.1 (coap://, or coaps:// with DTLS-PSK).
 *
 * `await server.registration('dev-001')` waits for a device and gives a {@link RegisteredDevice}, whose operations
 * are typed by the generated classes. Below that, `request` (and the helpers named after LwM2M operations, addressed
 * by endpoint name and path string) send raw requests and resolve with the raw response. Malformed Registers and
 * Updates are refused with 4.00, as a real server does, and listed in `rejections`. `intercept` lets a test answer
 * registration requests itself (drop them, refuse them) to play a server that is down or has forgotten the client.
 */
export class TestLwm2mServer {
  /** The CoAP endpoint the server answers and sends requests on. */
  readonly endpoint: CoapEndpoint;
  /** Current registrations by registration id. */
  readonly registrations = new Map<string, Registration>();
  /** Every request to the registration interface, in order. */
  readonly log: RegistrationLogEntry[] = [];
  /** Every Register or Update refused as malformed, in order. */
  readonly rejections: RejectedRegistration[] = [];
  /** Returns a response to send instead of the normal handling, or undefined to handle normally. */
  intercept: ((req: IncomingRequest) => OutgoingResponse | undefined) | undefined;
  /** While true every incoming datagram is dropped unanswered: the server looks down. */
  down = false;
  readonly #root: string;
  /** The DTLS layer when the server was started with `psk`: its sessions and failed handshakes. */
  readonly dtls: DtlsPskServer | undefined;
  readonly #tap: ObservationTap;
  readonly #logWaiters: Array<{ pred: (e: RegistrationLogEntry) => boolean; resolve: (e: RegistrationLogEntry) => void }> = [];
  readonly #changeWaiters = new Set<() => void>();
  readonly #registrationListeners = new Set<(e: RegistrationEvent) => void>();
  readonly #sends: SendReport[] = [];
  readonly #sendListeners = new Set<(report: SendReport) => void>();
  /** How many of an endpoint's Sends nextSend() has handed out already. */
  readonly #sendCursor = new Map<string, number>();
  #nextId = 1;

  private constructor(tap: ObservationTap, endpoint: CoapEndpoint, options: TestServerOptions, dtls: DtlsPskServer | undefined) {
    this.#tap = tap;
    this.dtls = dtls;
    this.endpoint = endpoint;
    this.#root = options.root ?? 'rd';
    endpoint.serve((req) => this.#serve(req));
  }

  /** Opens the server's socket (127.0.0.1, an ephemeral port unless a transport is given); see `address()`. */
  static async start(options: TestServerOptions = {}): Promise<TestLwm2mServer> {
    const dtls = options.psk === undefined ? undefined : await DtlsPskServer.start({ psk: options.psk });
    const udp = options.transport ?? dtls ?? await createUdpTransport({ address: '127.0.0.1', port: 0 });
    // Notifications are taken off the wire before the endpoint sees them: the endpoint's request() ends at the first response.
    const listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];
    let server: TestLwm2mServer | undefined;
    const observations = new ObservationTap(udp);
    udp.onMessage((data, peer) => {
      if (server?.down) return;
      if (observations.take(data, peer)) return;
      for (const l of listeners) l(data, peer);
    });
    const tap: DatagramTransport = {
      send: (data, peer) => udp.send(data, peer),
      onMessage: (l) => {
        listeners.push(l);
      },
      address: () => udp.address(),
      close: () => udp.close(),
    };
    const endpoint = createCoapEndpoint(tap, options.coap ?? {});
    server = new TestLwm2mServer(observations, endpoint, options, dtls);
    return server;
  }

  /** Where the server listens. */
  address(): Peer {
    return this.endpoint.address();
  }

  /** The URI a device registers with: `coap://`, or `coaps://` when the server was started with `psk`. */
  uri(): string {
    const { address, port } = this.address();
    return `${this.dtls ? 'coaps' : 'coap'}://${address}:${port}`;
  }

  /** Closes the socket; requests in flight reject. */
  async close(): Promise<void> {
    await this.endpoint.close();
  }

  /**
   * Waits until the endpoint is registered (now or later) and gives the device to send requests to. Rejects with a
   * {@link MalformedRegistrationError} when a Register naming that endpoint is refused as malformed, and with a
   * {@link RegistrationTimeoutError} when none comes within `timeoutMs`.
   */
  registration(endpointName: string, options: WaitOptions = {}): Promise<RegisteredDevice> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const seenRejections = this.rejections.length;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const rejected = this.rejections.slice(seenRejections).find((r) => r.kind === 'register' && r.endpoint === endpointName);
        if (rejected) finish(() => reject(new MalformedRegistrationError(rejected)));
        else if (this.findRegistration(endpointName)) finish(() => resolve(new RegisteredDevice(this, endpointName)));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#changeWaiters.delete(check);
        settle();
      };
      const timer = setTimeout(() => finish(() => reject(new RegistrationTimeoutError(endpointName, timeoutMs))), timeoutMs);
      this.#changeWaiters.add(check);
      check();
    });
  }

  /** The current registration of an endpoint, if it is registered. */
  findRegistration(endpointName: string): Registration | undefined {
    for (const r of this.registrations.values()) if (r.endpoint === endpointName) return r;
    return undefined;
  }

  /** Forgets a registration, so the client's next Update gets 4.04. */
  forget(endpointName: string): void {
    const r = this.findRegistration(endpointName);
    if (r) this.#drop(r);
  }

  /** Calls `listener` for every registration that comes, is updated or goes; returns the function that stops it. */
  onRegistrationChange(listener: (e: RegistrationEvent) => void): () => void {
    this.#registrationListeners.add(listener);
    return () => this.#registrationListeners.delete(listener);
  }

  #emit(kind: RegistrationEvent['kind'], registration: Registration): void {
    for (const l of [...this.#registrationListeners]) l({ kind, registration });
  }

  #drop(r: Registration): void {
    this.registrations.delete(r.id);
    this.#emit('deregistered', r);
  }

  /** Resolves with the first log entry (already logged or future) of that kind matching `pred`, after `skip` of them. */
  waitFor(kind: RegistrationLogEntry['kind'], pred: (e: RegistrationLogEntry) => boolean = () => true, from = 0): Promise<RegistrationLogEntry> {
    const match = (e: RegistrationLogEntry) => e.kind === kind && pred(e);
    const found = this.log.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#logWaiters.push({ pred: match, resolve }));
  }

  #record(entry: RegistrationLogEntry): void {
    this.log.push(entry);
    for (const w of [...this.#logWaiters]) {
      if (w.pred(entry)) {
        this.#logWaiters.splice(this.#logWaiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
    for (const w of [...this.#changeWaiters]) w();
  }

  #reject(kind: RejectedRegistration['kind'], req: IncomingRequest, endpoint: string | undefined, reason: string): OutgoingResponse {
    this.rejections.push({ kind, peer: req.peer, endpoint, query: req.query, reason });
    return { code: '4.00', payload: utf8.encode(reason) };
  }

  #serve(req: IncomingRequest): OutgoingResponse | Promise<OutgoingResponse> {
    const intercepted = this.intercept?.(req);
    const send = isSend(req);
    const response = intercepted ?? (send ? this.#send(req) : this.#handle(req));
    const kind: RegistrationLogEntry['kind'] = send ? 'send' : req.path[0] !== this.#root ? 'other'
      : req.path.length === 1 && req.method === 'POST' ? 'register'
        : req.method === 'POST' ? 'update' : req.method === 'DELETE' ? 'deregister' : 'other';
    this.#record({
      kind, peer: req.peer, path: req.path, query: req.query, contentFormat: req.contentFormat,
      payload: send ? '' : text.decode(req.payload), code: response.code,
    });
    return response;
  }

  // ---- Send (information reporting) ----

  /**
   * POST /dp: 2.04 from a registered device, with the report kept for `sends()`; 4.04 from a peer with no
   * registration (as Leshan answers), 4.15 or 4.00 for a body it cannot read.
   */
  #send(req: IncomingRequest): OutgoingResponse {
    const reg = [...this.registrations.values()].find((r) => samePeer(r.peer, req.peer));
    if (!reg) return { code: '4.04', payload: utf8.encode('no registration for this peer') };
    const { response, report } = acceptSend(req, reg.endpoint);
    if (report) {
      this.#sends.push(report);
      for (const l of [...this.#sendListeners]) l(report);
    }
    return response;
  }

  /** The Sends the server accepted, in order: every endpoint's, or one endpoint's. */
  sends(endpointName?: string): SendReport[] {
    return this.#sends.filter((s) => endpointName === undefined || s.endpoint === endpointName);
  }

  /** Calls `listener` for every Send the server accepts; returns the function that stops it. */
  onSend(listener: (report: SendReport) => void): () => void {
    this.#sendListeners.add(listener);
    return () => this.#sendListeners.delete(listener);
  }

  /**
   * The endpoint's next Send: the first one not handed out by an earlier nextSend (already received, or to come).
   * Rejects after `timeoutMs` (default 5000).
   */
  nextSend(endpointName: string, options: WaitOptions = {}): Promise<SendReport> {
    const index = this.#sendCursor.get(endpointName) ?? 0;
    const take = (report: SendReport): SendReport => {
      this.#sendCursor.set(endpointName, index + 1);
      return report;
    };
    const ready = this.sends(endpointName)[index];
    if (ready) return Promise.resolve(take(ready));
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const off = this.onSend((report) => {
        if (report.endpoint !== endpointName) return;
        off();
        clearTimeout(timer);
        resolve(take(report));
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no Send from ${endpointName} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  #handle(req: IncomingRequest): OutgoingResponse {
    if (req.path[0] !== this.#root) return { code: '4.04' };
    if (req.path.length === 1 && req.method === 'POST') {
      const ep = queryValue(req.query, 'ep');
      const problem = registerProblem(req);
      if (problem || ep === undefined) return this.#reject('register', req, ep, problem ?? 'no endpoint name');
      const lt = Number(queryValue(req.query, 'lt') ?? '86400');
      const old = this.findRegistration(ep);
      if (old) this.#drop(old);
      const id = String(this.#nextId++);
      const now = Date.now();
      const registration: Registration = {
        endpoint: ep, id, peer: req.peer, lifetime: lt, binding: queryValue(req.query, 'b') ?? 'U',
        lwm2mVersion: queryValue(req.query, 'lwm2m'), links: text.decode(req.payload), query: req.query, updates: 0,
        registeredAt: now, lastUpdateAt: now,
      };
      this.registrations.set(id, registration);
      this.#emit('registered', registration);
      return { code: '2.01', locationPath: [this.#root, id] };
    }
    const reg = req.path.length === 2 ? this.registrations.get(req.path[1]!) : undefined;
    if (!reg) return { code: '4.04' };
    if (req.method === 'POST') {
      const problem = updateProblem(req);
      if (problem) return this.#reject('update', req, reg.endpoint, problem);
      const lt = queryValue(req.query, 'lt');
      const b = queryValue(req.query, 'b');
      if (lt !== undefined) reg.lifetime = Number(lt);
      if (b !== undefined) reg.binding = b;
      if (req.payload.length > 0) reg.links = text.decode(req.payload);
      reg.updates++;
      reg.lastUpdateAt = Date.now();
      this.#emit('updated', reg);
      return { code: '2.04' };
    }
    if (req.method === 'DELETE') {
      this.#drop(reg);
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }

  #peerOf(endpointName: string): Peer {
    const r = this.findRegistration(endpointName);
    if (!r) throw new Error(`no registration for endpoint ${endpointName}`);
    return r.peer;
  }

  // ---- device management ----

  /** Sends any request to a registered client; `path` is an LwM2M path string like "/3/0/1". */
  request(endpointName: string, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<IncomingResponse> {
    return this.requestTo(this.#peerOf(endpointName), path, req);
  }

  /** Sends a request to any peer (registered or not). */
  requestTo(peer: Peer, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<IncomingResponse> {
    const segments = path.split('/').filter((s) => s !== '');
    return this.endpoint.request(peer, { ...req, path: segments });
  }

  read(ep: string, path: string, accept?: number): Promise<IncomingResponse> {
    return this.request(ep, path, accept === undefined ? { method: 'GET' } : { method: 'GET', accept });
  }

  /** Write: PUT (replace) by default, POST when partial. */
  write(ep: string, path: string, payload: Uint8Array | string, contentFormat: number, partial = false): Promise<IncomingResponse> {
    return this.request(ep, path, {
      method: partial ? 'POST' : 'PUT', contentFormat, payload: typeof payload === 'string' ? utf8.encode(payload) : payload,
    });
  }

  execute(ep: string, path: string, args?: string): Promise<IncomingResponse> {
    return this.request(ep, path, args === undefined ? { method: 'POST' } : { method: 'POST', payload: utf8.encode(args) });
  }

  discover(ep: string, path: string): Promise<IncomingResponse> {
    return this.request(ep, path, { method: 'GET', accept: 40 });
  }

  create(ep: string, objectPath: string, payload: Uint8Array | string, contentFormat: number): Promise<IncomingResponse> {
    return this.request(ep, objectPath, {
      method: 'POST', contentFormat, payload: typeof payload === 'string' ? utf8.encode(payload) : payload,
    });
  }

  delete(ep: string, path: string): Promise<IncomingResponse> {
    return this.request(ep, path, { method: 'DELETE' });
  }

  writeAttributes(ep: string, path: string, query: readonly string[]): Promise<IncomingResponse> {
    return this.request(ep, path, { method: 'PUT', query });
  }

  /** Observe (GET with Observe=0); notifications collect on the returned observation, which can cancel it. */
  async observe(ep: string, path: string, accept?: number): Promise<Observation> {
    // The first response goes through the endpoint; only then is the token known for the tap to catch what follows.
    const response = await this.request(ep, path, accept === undefined
      ? { method: 'GET', observe: 0 } : { method: 'GET', observe: 0, accept });
    return this.#tap.track(response, path.split('/').filter((s) => s !== ''), accept);
  }

  /**
   * Any observing request, e.g. FETCH / with Observe = 0 (Observe-Composite, see observeComposite in composite.ts);
   * notifications collect as for observe(). The observation's cancel() sends a GET: cancel a composite one with
   * observeComposite's cancel (FETCH with Observe = 1).
   */
  async observeRequest(ep: string, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<Observation> {
    const response = await this.request(ep, path, req);
    return this.#tap.track(response, path.split('/').filter((s) => s !== ''), req.accept);
  }
}
