// A small LwM2M server for integration tests: registration interface, device-management requests and Observe over our CoAP layer.
import {
  createCoapEndpoint, createUdpTransport, decodeMessage, OptionNumber,
  type CoapEndpoint, type CoapEndpointOptions, type DatagramTransport, type IncomingRequest, type IncomingResponse,
  type OutgoingRequest, type OutgoingResponse, type Peer,
} from '../../runtime/coap/index.js';
import { emptyMessage, decodeUint } from '../../runtime/coap/message.js';

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
}

/** What the server saw on its registration interface, in order. */
export interface RegistrationLogEntry {
  readonly kind: 'register' | 'update' | 'deregister' | 'other';
  readonly peer: Peer;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: string;
  readonly code: string;
}

/** A notification the server received for an observation it made. */
export interface Notification {
  readonly code: string;
  readonly observe: number | undefined;
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
  readonly confirmable: boolean;
}

export interface Observation {
  readonly token: Uint8Array;
  /** The first response. */
  readonly response: IncomingResponse;
  readonly notifications: Notification[];
  /** Resolves with the next notification (the n-th from now). */
  next(): Promise<Notification>;
  /** Stops accepting notifications: the next CON notification gets RST, which cancels it client-side. */
  reset(): void;
}

export interface TestServerOptions {
  /** Options of the CoAP endpoint (short ackTimeout in tests). */
  readonly coap?: CoapEndpointOptions;
  /** Location-Path prefix, default "rd". */
  readonly root?: string;
  /** A transport to serve on (e.g. from a MemoryNetwork); default a UDP socket on 127.0.0.1, ephemeral port. */
  readonly transport?: DatagramTransport;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function queryValue(query: readonly string[], name: string): string | undefined {
  const item = query.find((q) => q.startsWith(`${name}=`));
  return item === undefined ? undefined : item.slice(name.length + 1);
}

interface ObservationState {
  notifications: Notification[];
  waiters: Array<() => void>;
  active: boolean;
}

/**
 * The server. Requests to the client go through `request` (or the helpers named after LwM2M operations),
 * addressed by endpoint name. `intercept` lets a test answer registration requests itself (drop them,
 * refuse them) to play a server that is down or has forgotten the client.
 */
export class TestLwm2mServer {
  readonly endpoint: CoapEndpoint;
  readonly registrations = new Map<string, Registration>();
  readonly log: RegistrationLogEntry[] = [];
  /** Returns a response to send instead of the normal handling, or undefined to handle normally. */
  intercept: ((req: IncomingRequest) => OutgoingResponse | undefined) | undefined;
  /** While true every incoming datagram is dropped unanswered: the server looks down. */
  down = false;
  readonly #root: string;
  readonly #transport: DatagramTransport;
  readonly #observations = new Map<string, ObservationState>();
  readonly #logWaiters: Array<{ pred: (e: RegistrationLogEntry) => boolean; resolve: (e: RegistrationLogEntry) => void }> = [];
  #nextId = 1;

  private constructor(transport: DatagramTransport, endpoint: CoapEndpoint, options: TestServerOptions) {
    this.#transport = transport;
    this.endpoint = endpoint;
    this.#root = options.root ?? 'rd';
    endpoint.serve((req) => this.#serve(req));
  }

  static async start(options: TestServerOptions = {}): Promise<TestLwm2mServer> {
    const udp = options.transport ?? await createUdpTransport({ address: '127.0.0.1', port: 0 });
    // Notifications are taken off the wire before the endpoint sees them: the endpoint's request() ends at the first response.
    const listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];
    let server: TestLwm2mServer | undefined;
    udp.onMessage((data, peer) => {
      if (server?.down) return;
      if (server && server.#takeNotification(data, peer)) return;
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
    server = new TestLwm2mServer(udp, endpoint, options);
    return server;
  }

  address(): Peer {
    return this.endpoint.address();
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }

  registration(endpointName: string): Registration | undefined {
    for (const r of this.registrations.values()) if (r.endpoint === endpointName) return r;
    return undefined;
  }

  /** Forgets a registration, so the client's next Update gets 4.04. */
  forget(endpointName: string): void {
    const r = this.registration(endpointName);
    if (r) this.registrations.delete(r.id);
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
  }

  #serve(req: IncomingRequest): OutgoingResponse | Promise<OutgoingResponse> {
    const intercepted = this.intercept?.(req);
    const response = intercepted ?? this.#handle(req);
    const kind: RegistrationLogEntry['kind'] = req.path[0] !== this.#root ? 'other'
      : req.path.length === 1 && req.method === 'POST' ? 'register'
        : req.method === 'POST' ? 'update' : req.method === 'DELETE' ? 'deregister' : 'other';
    this.#record({
      kind, peer: req.peer, path: req.path, query: req.query, contentFormat: req.contentFormat,
      payload: text.decode(req.payload), code: response.code,
    });
    return response;
  }

  #handle(req: IncomingRequest): OutgoingResponse {
    if (req.path[0] !== this.#root) return { code: '4.04' };
    if (req.path.length === 1 && req.method === 'POST') {
      const ep = queryValue(req.query, 'ep');
      if (!ep) return { code: '4.00' };
      const lt = Number(queryValue(req.query, 'lt') ?? '86400');
      const old = this.registration(ep);
      if (old) this.registrations.delete(old.id);
      const id = String(this.#nextId++);
      this.registrations.set(id, {
        endpoint: ep, id, peer: req.peer, lifetime: lt, binding: queryValue(req.query, 'b') ?? 'U',
        lwm2mVersion: queryValue(req.query, 'lwm2m'), links: text.decode(req.payload), query: req.query, updates: 0,
      });
      return { code: '2.01', locationPath: [this.#root, id] };
    }
    const reg = req.path.length === 2 ? this.registrations.get(req.path[1]!) : undefined;
    if (!reg) return { code: '4.04' };
    if (req.method === 'POST') {
      const lt = queryValue(req.query, 'lt');
      const b = queryValue(req.query, 'b');
      if (lt !== undefined) reg.lifetime = Number(lt);
      if (b !== undefined) reg.binding = b;
      if (req.payload.length > 0) reg.links = text.decode(req.payload);
      reg.updates++;
      return { code: '2.04' };
    }
    if (req.method === 'DELETE') {
      this.registrations.delete(reg.id);
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }

  #peerOf(endpointName: string): Peer {
    const r = this.registration(endpointName);
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

  /** Observe (GET with Observe=0); notifications collect on the returned observation. */
  observe(ep: string, path: string, accept?: number): Promise<Observation> {
    return this.observeRequest(ep, path, accept === undefined ? { method: 'GET', observe: 0 } : { method: 'GET', observe: 0, accept });
  }

  /** Any observing request (FETCH with Observe = 0 for Observe-Composite); notifications collect as for observe(). */
  async observeRequest(ep: string, path: string, req: Omit<OutgoingRequest, 'path'>): Promise<Observation> {
    const state: ObservationState = { notifications: [], waiters: [], active: true };
    // The first response goes through the endpoint; only then is the token known for the tap to catch what follows.
    const response = await this.request(ep, path, req);
    this.#observations.set(hex(response.token), state);
    let consumed = 0;
    return {
      token: response.token,
      response,
      notifications: state.notifications,
      next: () => {
        const i = consumed++;
        const have = state.notifications[i];
        if (have) return Promise.resolve(have);
        return new Promise<Notification>((resolve) => {
          const check = (): void => {
            const n = state.notifications[i];
            if (n) resolve(n);
            else state.waiters.push(check);
          };
          state.waiters.push(check);
        });
      },
      reset: () => {
        state.active = false;
      },
    };
  }

  /** GET with Observe=1 on the path (a new token: our endpoint picks tokens, so this cancels by path on the client). */
  cancelObserve(ep: string, path: string): Promise<IncomingResponse> {
    return this.request(ep, path, { method: 'GET', observe: 1 });
  }

  /** True when the datagram was a notification of one of our observations (then it is answered here). */
  #takeNotification(data: Uint8Array, peer: Peer): boolean {
    const m = decodeMessage(data);
    if (!m || (m.type !== 'CON' && m.type !== 'NON') || !/^[245]\./.test(m.code)) return false;
    const obsOpt = m.options.find((o) => o.number === OptionNumber.Observe);
    const state = this.#observations.get(hex(m.token));
    if (!state) return false;
    if (!state.active) {
      void this.#transport.send(emptyMessage('RST', m.messageId), peer);
      return true;
    }
    if (m.type === 'CON') void this.#transport.send(emptyMessage('ACK', m.messageId), peer);
    const cf = m.options.find((o) => o.number === OptionNumber.ContentFormat);
    state.notifications.push({
      code: m.code,
      observe: obsOpt ? decodeUint(obsOpt.value) : undefined,
      contentFormat: cf ? decodeUint(cf.value) : undefined,
      payload: m.payload,
      confirmable: m.type === 'CON',
    });
    for (const w of state.waiters.splice(0)) w();
    return true;
  }
}
