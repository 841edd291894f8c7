// An in-process LwM2M Bootstrap-Server for device apps' tests: answers Bootstrap-Request and provisions /0 and /1 over UDP (or DTLS-PSK on a DtlsPskServer).
import {
  ContentFormat, createCoapEndpoint, createUdpTransport, encodeRecords, SECURITY_MODEL, SERVER_MODEL,
  type CoapEndpoint, type CoapEndpointOptions, type DatagramTransport, type IncomingResponse, type Lwm2mPath, type Lwm2mRecord,
  type OutgoingRequest, type Peer, type ResourceValue,
} from 'lwm2m-gen/runtime';

/** One account to provision (a /0 instance and, for a LwM2M Server, its /1 instance). Keys are written, never logged. */
export interface ProvisionedServer {
  /** The DM server's URI, e.g. coap://127.0.0.1:5683 or coaps://…. */
  readonly uri: string;
  readonly shortServerId: number;
  readonly lifetime?: number;
  readonly binding?: string;
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
  /** /1 instance id and /0 instance id; default the index + 1 (/0/0 is left to the bootstrap account). */
  readonly instanceId?: number;
}

/** What the server provisions for one endpoint; the default script writes it after a Bootstrap-Delete of /. */
export interface BootstrapConfig {
  readonly servers: readonly ProvisionedServer[];
  /** Also (re)write the Bootstrap-Server account at /0/0, with this URI and Account Timeout. */
  readonly bootstrapAccount?: { readonly uri: string; readonly accountTimeout?: number; readonly pskIdentity?: string; readonly pskKey?: Uint8Array };
}

/** One request the bootstrap server sent to a client, and the answer. Payloads are not kept (they hold keys). */
export interface BootstrapLogEntry {
  readonly endpoint: string;
  readonly method: string;
  readonly path: string;
  readonly code: string;
}

export interface TestBootstrapServerOptions {
  /** The configuration per endpoint name; an endpoint without one gets 4.00 to its Bootstrap-Request. */
  readonly config?: (endpoint: string) => BootstrapConfig | undefined;
  /**
   * What to do with a client once its Bootstrap-Request was answered; by default `provision`: Delete /, write
   * every account, Finish. A test can script bad writes or an inconsistent Finish here.
   */
  readonly script?: (session: BootstrapClientSession, config: BootstrapConfig | undefined) => Promise<void>;
  readonly coap?: CoapEndpointOptions;
  /** A transport to serve on (a DtlsPskServer for coaps://); default UDP on 127.0.0.1, ephemeral port. */
  readonly transport?: DatagramTransport;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

const lookup = (objectId: number, resourceId: number) =>
  objectId === 0 ? SECURITY_MODEL.resource(resourceId) : objectId === 1 ? SERVER_MODEL.resource(resourceId) : undefined;

function parse(path: string): Lwm2mPath {
  const ids = path.split('/').filter((s) => s !== '').map(Number);
  return {
    objectId: ids[0]!,
    ...(ids[1] !== undefined ? { instanceId: ids[1] } : {}),
    ...(ids[2] !== undefined ? { resourceId: ids[2] } : {}),
  };
}

/** The records of a /0 instance for an account. */
export function securityRecords(instanceId: number, a: {
  uri: string; bootstrap: boolean; shortServerId?: number; pskIdentity?: string; pskKey?: Uint8Array; accountTimeout?: number;
}): Lwm2mRecord[] {
  const psk = a.pskKey !== undefined;
  const v: Array<[number, ResourceValue]> = [
    [0, a.uri], [1, a.bootstrap], [2, psk ? 0 : 3],
    [3, utf8.encode(a.pskIdentity ?? '')], [4, new Uint8Array(0)], [5, a.pskKey ?? new Uint8Array(0)],
  ];
  if (a.shortServerId !== undefined) v.push([10, a.shortServerId]);
  if (a.accountTimeout !== undefined) v.push([12, a.accountTimeout]);
  return v.map(([rid, value]) => ({ path: { objectId: 0, instanceId, resourceId: rid }, value }));
}

/** The records of a /1 instance for a server. */
export function serverRecords(instanceId: number, s: ProvisionedServer): Lwm2mRecord[] {
  const v: Array<[number, ResourceValue]> = [[0, s.shortServerId], [1, s.lifetime ?? 300], [6, false], [7, s.binding ?? (s.uri.includes('+tcp') ? 'T' : 'U')]];
  return v.map(([rid, value]) => ({ path: { objectId: 1, instanceId, resourceId: rid }, value }));
}

/** The bootstrap server's side of one client's bootstrap: its requests to the client. */
export class BootstrapClientSession {
  readonly endpoint: string;
  readonly peer: Peer;
  /** The `pct=` of the Bootstrap-Request, if any. */
  readonly preferredFormat: number | undefined;
  readonly #coap: CoapEndpoint;
  readonly #log: BootstrapLogEntry[];

  constructor(endpoint: string, peer: Peer, preferredFormat: number | undefined, coap: CoapEndpoint, log: BootstrapLogEntry[]) {
    this.endpoint = endpoint;
    this.peer = peer;
    this.preferredFormat = preferredFormat;
    this.#coap = coap;
    this.#log = log;
  }

  async request(path: string, request: Omit<OutgoingRequest, 'path'>): Promise<IncomingResponse> {
    const segments = path.split('/').filter((s) => s !== '');
    const res = await this.#coap.request(this.peer, { ...request, path: segments });
    this.#log.push({ endpoint: this.endpoint, method: request.method, path: `/${segments.join('/')}`, code: res.code });
    return res;
  }

  /** Bootstrap-Write of records (TLV by default) to an object, instance or resource. */
  write(path: string, records: readonly Lwm2mRecord[], contentFormat: number = ContentFormat.TLV): Promise<IncomingResponse> {
    return this.request(path, { method: 'PUT', contentFormat, payload: encodeRecords(contentFormat, parse(path), records, lookup) });
  }

  /** Bootstrap-Write of a raw payload (for tests of malformed writes). */
  writeRaw(path: string, payload: Uint8Array, contentFormat: number): Promise<IncomingResponse> {
    return this.request(path, { method: 'PUT', contentFormat, payload });
  }

  delete(path = '/'): Promise<IncomingResponse> {
    return this.request(path, { method: 'DELETE' });
  }

  /** Bootstrap-Discover; resolves with the link-format text and the code. */
  async discover(path = '/'): Promise<{ code: string; links: string }> {
    const res = await this.request(path, { method: 'GET', accept: ContentFormat.LINK_FORMAT });
    return { code: res.code, links: text.decode(res.payload) };
  }

  read(path: string, accept?: number): Promise<IncomingResponse> {
    return this.request(path, accept === undefined ? { method: 'GET' } : { method: 'GET', accept });
  }

  finish(): Promise<IncomingResponse> {
    return this.request('/bs', { method: 'POST' });
  }

  /** The default script: Bootstrap-Delete /, a Bootstrap-Write per account, Bootstrap-Finish. Throws on a refused step. */
  async provision(config: BootstrapConfig): Promise<void> {
    const check = (res: IncomingResponse, what: string): void => {
      if (!res.code.startsWith('2.')) throw new Error(`${what} answered ${res.code}: ${text.decode(res.payload)}`);
    };
    check(await this.delete('/'), 'Bootstrap-Delete /');
    if (config.bootstrapAccount) {
      const b = config.bootstrapAccount;
      check(await this.write('/0/0', securityRecords(0, {
        uri: b.uri, bootstrap: true,
        ...(b.accountTimeout !== undefined ? { accountTimeout: b.accountTimeout } : {}),
        ...(b.pskIdentity !== undefined ? { pskIdentity: b.pskIdentity } : {}), ...(b.pskKey ? { pskKey: b.pskKey } : {}),
      })), 'Bootstrap-Write /0/0');
    }
    for (const [i, s] of config.servers.entries()) {
      const id = s.instanceId ?? i + 1;
      check(await this.write(`/0/${id}`, securityRecords(id, {
        uri: s.uri, bootstrap: false, shortServerId: s.shortServerId,
        ...(s.pskIdentity !== undefined ? { pskIdentity: s.pskIdentity } : {}), ...(s.pskKey ? { pskKey: s.pskKey } : {}),
      })), `Bootstrap-Write /0/${id}`);
      check(await this.write(`/1/${id}`, serverRecords(id, s)), `Bootstrap-Write /1/${id}`);
    }
    check(await this.finish(), 'Bootstrap-Finish');
  }
}

interface Waiter {
  readonly endpoint: string | undefined;
  readonly resolve: (s: BootstrapClientSession) => void;
}

/** A Bootstrap-Server on 127.0.0.1: `POST /bs?ep=…` answered 2.04, then the script runs against the client. */
export class TestBootstrapServer {
  readonly #coap: CoapEndpoint;
  readonly #transport: DatagramTransport;
  readonly #o: TestBootstrapServerOptions;
  /** Every request sent to clients and its answer, in order. */
  readonly log: BootstrapLogEntry[] = [];
  /** Bootstrap-Requests received, by endpoint name, in order. */
  readonly requests: { readonly endpoint: string; readonly peer: Peer; readonly preferredFormat: number | undefined }[] = [];
  /** What the scripts threw, by endpoint (a provisioning the client refused). */
  readonly failures: { readonly endpoint: string; readonly error: Error }[] = [];
  readonly #done: Array<Promise<void>> = [];
  #waiters: Waiter[] = [];

  private constructor(transport: DatagramTransport, options: TestBootstrapServerOptions) {
    this.#transport = transport;
    this.#o = options;
    this.#coap = createCoapEndpoint(transport, options.coap ?? {});
    this.#coap.serve((req) => {
      if (req.method !== 'POST' || req.path.length !== 1 || req.path[0] !== 'bs') return { code: '4.04' };
      const ep = req.query.find((q) => q.startsWith('ep='))?.slice(3);
      if (!ep) return { code: '4.00', payload: utf8.encode('ep= is required') };
      const pctText = req.query.find((q) => q.startsWith('pct='))?.slice(4);
      const pct = pctText === undefined ? undefined : Number(pctText);
      const config = options.config?.(ep);
      if (!config && !options.script) return { code: '4.00', payload: utf8.encode(`no configuration for ${ep}`) };
      const session = new BootstrapClientSession(ep, req.peer, pct, this.#coap, this.log);
      this.requests.push({ endpoint: ep, peer: req.peer, preferredFormat: pct });
      // The script starts after the 2.04 is out.
      setTimeout(() => {
        for (const w of this.#waiters.filter((x) => x.endpoint === undefined || x.endpoint === ep)) w.resolve(session);
        this.#waiters = this.#waiters.filter((x) => !(x.endpoint === undefined || x.endpoint === ep));
        const run = (options.script ?? ((s, c) => s.provision(c!)))(session, config).catch((error: unknown) => {
          this.failures.push({ endpoint: ep, error: error instanceof Error ? error : new Error(String(error)) });
        });
        this.#done.push(run);
      }, 0);
      return { code: '2.04' };
    });
  }

  static async start(options: TestBootstrapServerOptions = {}): Promise<TestBootstrapServer> {
    const transport = options.transport ?? await createUdpTransport({ address: '127.0.0.1', port: 0 });
    return new TestBootstrapServer(transport, options);
  }

  address(): Peer {
    return this.#transport.address();
  }

  /** coap://127.0.0.1:PORT */
  uri(): string {
    const a = this.address();
    return `coap://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Resolves with the session of the next Bootstrap-Request (of `endpoint` when given). */
  nextRequest(endpoint?: string): Promise<BootstrapClientSession> {
    return new Promise((resolve) => this.#waiters.push({ endpoint, resolve }));
  }

  /** Waits for every script started so far. */
  async settled(): Promise<void> {
    await Promise.all(this.#done);
  }

  async close(): Promise<void> {
    await this.#coap.close();
  }
}
