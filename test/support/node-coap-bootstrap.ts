// A Bootstrap-Server for tests on node-coap (an independent CoAP stack) with lwm2m-codec's TLV (an independent encoder): the bootstrap logic is ours, the wire is theirs.
import { createRequire } from 'node:module';
import type { Socket } from 'node:dgram';
import * as coap from 'coap';

const require = createRequire(import.meta.url);

interface LwM2mCodec {
  encode(format: 'tlv', path: string, value: Record<string, unknown>): Buffer;
  decode(format: 'tlv', path: string, payload: Buffer): Record<string, unknown>;
}
interface LwM2mId {
  getRdef(oid: number, rid: number): { access: string | null } | undefined;
}

/**
 * lwm2m-codec takes each resource's type from lwm2m-id, but encodes a resource without R access as a string (it was
 * written for a DM server, which writes only readable resources). The Security object's resources have no access
 * for a DM server, so they are marked RW here, in this process's copy of lwm2m-id, for the codec to use their types.
 */
function codec(): LwM2mCodec {
  const ids = require('lwm2m-id') as LwM2mId;
  for (const rid of [0, 1, 2, 3, 4, 5, 10, 11]) {
    const def = ids.getRdef(0, rid);
    if (def && !def.access) def.access = 'RW';
  }
  return require('lwm2m-codec') as LwM2mCodec;
}

const TLV = 'application/vnd.oma.lwm2m+tlv';
const LINK_FORMAT = 'application/link-format';

/** One account the bootstrap server provisions: its /0 instance and, for a DM server, its /1 instance. */
export interface NodeCoapAccount {
  readonly instanceId: number;
  readonly uri: string;
  readonly shortServerId: number;
  readonly lifetime?: number;
  readonly pskIdentity?: string;
  readonly pskKey?: Uint8Array;
  /** Bootstrap on Registration Failure (/1/x/16). */
  readonly bootstrapOnFailure?: boolean;
}

export interface NodeCoapBootstrapEntry {
  readonly method: string;
  readonly path: string;
  readonly code: string;
}

export interface NodeCoapAnswer {
  readonly code: string;
  readonly payload: Buffer;
  readonly contentFormat: unknown;
}

/** What the server learnt from the client: the Bootstrap-Discover links and the Bootstrap-Read of /1 decoded by lwm2m-codec. */
export interface NodeCoapBootstrapResult {
  readonly endpoint: string;
  readonly discover: string;
  readonly serverRead: Record<string, unknown>;
}

/** node-coap's server on 127.0.0.1; Bootstrap-Request answered 2.04, then Delete /, Discover, Writes, Read /1, Finish from the same socket. */
export class NodeCoapBootstrapServer {
  readonly #server: coap.Server;
  #agent: coap.Agent | undefined;
  readonly #codec = codec();
  readonly #accounts: (endpoint: string) => readonly NodeCoapAccount[] | undefined;
  /** Every POST /bs?ep= received. */
  readonly requests: string[] = [];
  /** Method, path and code of each request it sent to a client (never a payload). */
  readonly log: NodeCoapBootstrapEntry[] = [];
  readonly results: NodeCoapBootstrapResult[] = [];
  readonly failures: Error[] = [];
  port = 0;

  private constructor(accounts: (endpoint: string) => readonly NodeCoapAccount[] | undefined) {
    this.#accounts = accounts;
    this.#server = coap.createServer({ type: 'udp4' });
    this.#server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => this.#onRequest(req, res));
  }

  static async start(accounts: (endpoint: string) => readonly NodeCoapAccount[] | undefined): Promise<NodeCoapBootstrapServer> {
    const s = new NodeCoapBootstrapServer(accounts);
    await new Promise<void>((resolve, reject) => s.#server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const socket = s.#server._sock as Socket;
    s.port = socket.address().port;
    // Requests to the client leave from the server's own socket: the client answers only its bootstrap server's address.
    s.#agent = new coap.Agent({ socket, type: 'udp4' });
    return s;
  }

  uri(): string {
    return `coap://127.0.0.1:${this.port}`;
  }

  #onRequest(req: coap.IncomingMessage, res: coap.OutgoingMessage): void {
    const [path, query = ''] = req.url.split('?');
    const ep = query.split('&').find((q) => q.startsWith('ep='))?.slice(3);
    if (req.method !== 'POST' || path !== '/bs') {
      res.code = '4.04';
      res.end();
      return;
    }
    const accounts = ep ? this.#accounts(ep) : undefined;
    if (!ep || !accounts) {
      res.code = '4.00';
      res.end();
      return;
    }
    this.requests.push(ep);
    res.code = '2.04';
    res.end();
    const peer = { address: req.rsinfo.address, port: req.rsinfo.port };
    setTimeout(() => {
      this.#provision(ep, peer, accounts).catch((err: unknown) => this.failures.push(err instanceof Error ? err : new Error(String(err))));
    }, 20);
  }

  request(peer: { address: string; port: number }, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: { format: string; payload: Buffer }, accept?: string): Promise<NodeCoapAnswer> {
    return new Promise((resolve, reject) => {
      const req = coap.request({
        hostname: peer.address, port: peer.port, method, pathname: path, confirmable: true, agent: this.#agent!,
        ...(accept ? { accept } : {}), ...(body ? { contentFormat: body.format } : {}),
      });
      req.on('response', (res: coap.IncomingMessage) => {
        this.log.push({ method, path, code: res.code });
        resolve({ code: res.code, payload: res.payload, contentFormat: res.headers['Content-Format'] });
      });
      req.on('error', reject);
      req.end(body?.payload);
    });
  }

  async #provision(endpoint: string, peer: { address: string; port: number }, accounts: readonly NodeCoapAccount[]): Promise<void> {
    const ok = (a: NodeCoapAnswer, what: string): NodeCoapAnswer => {
      if (!a.code.startsWith('2.')) throw new Error(`${what} answered ${a.code}`);
      return a;
    };
    ok(await this.request(peer, 'DELETE', '/'), 'Bootstrap-Delete /');
    const discover = ok(await this.request(peer, 'GET', '/', undefined, LINK_FORMAT), 'Bootstrap-Discover /').payload.toString();
    for (const a of accounts) {
      const security = this.#codec.encode('tlv', `/0/${a.instanceId}`, {
        0: a.uri, 1: false, 2: a.pskKey ? 0 : 3, 3: Buffer.from(a.pskIdentity ?? ''), 4: Buffer.alloc(0),
        5: Buffer.from(a.pskKey ?? new Uint8Array(0)), 10: a.shortServerId, 11: 0,
      });
      ok(await this.request(peer, 'PUT', `/0/${a.instanceId}`, { format: TLV, payload: security }), `Bootstrap-Write /0/${a.instanceId}`);
      const server = this.#codec.encode('tlv', `/1/${a.instanceId}`, {
        0: a.shortServerId, 1: a.lifetime ?? 300, 6: false, 7: 'U', ...(a.bootstrapOnFailure === false ? { 16: false } : {}),
      });
      ok(await this.request(peer, 'PUT', `/1/${a.instanceId}`, { format: TLV, payload: server }), `Bootstrap-Write /1/${a.instanceId}`);
    }
    const read = ok(await this.request(peer, 'GET', '/1', undefined, TLV), 'Bootstrap-Read /1');
    ok(await this.request(peer, 'POST', '/bs'), 'Bootstrap-Finish');
    this.results.push({ endpoint, discover, serverRead: this.#codec.decode('tlv', '/1', read.payload) });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // node-coap opens sockets for its default agents when it is imported; this test process has no other use for them.
    for (const agent of [coap.globalAgent, coap.globalAgentIPv6]) (agent as unknown as { _doClose(): void })._doClose();
  }
}
