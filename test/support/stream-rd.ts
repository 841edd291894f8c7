// A registration server over RFC 8323 (coap+tcp, or coaps+tcp with TLS-PSK) for tests: registers, updates and de-registers, recording each; observes over a client's connection, and takes Sends.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StreamCoapEndpoint, type IncomingRequest, type OutgoingResponse } from '../../runtime/coap/index.js';
import { decodeUint } from '../../runtime/coap/message.js';
import { StreamFrameDecoder } from '../../runtime/coap/stream-codec.js';
import { acceptSend, type SendReport } from '../../testing/send.js';

/** A 2.xx response frame a connection carried (a response or a notification), as the wire had it. */
export interface StreamFrame {
  /** Which accepted connection, counting from 1. */
  readonly connection: number;
  readonly token: string;
  readonly observe: number | undefined;
  readonly payload: string;
}

/** The TLS-PSK side: the key, and the one identity to accept (any identity when absent). */
export interface StreamRdPsk {
  readonly key: Uint8Array;
  readonly identity?: string;
}

export class StreamRegistrationServer {
  /** Current registrations: location id → endpoint name. */
  readonly registrations = new Map<string, string>();
  /** PSK identities of the TLS handshakes, in order. */
  readonly identities: string[] = [];
  /** The open connections, server side. */
  readonly connections = new Set<StreamCoapEndpoint>();
  deregistrations = 0;
  updates = 0;
  /** Every 2.xx frame received on any connection, in order. */
  readonly frames: StreamFrame[] = [];
  /** The connection each registration last spoke on: location id → endpoint and its number. */
  readonly #routes = new Map<string, { ep: StreamCoapEndpoint; connection: number }>();
  #accepted = 0;
  /** Sends (POST /dp) from a connection that registered, decoded as the test server decodes them. */
  readonly sends: SendReport[] = [];
  #server: net.Server | undefined;
  #next = 1;
  port = 0;

  /** `psk` makes it a TLS-PSK server; a bare key takes any identity with that key. */
  constructor(readonly psk?: StreamRdPsk | Uint8Array) {}

  /** Listens on `port` (any free one by default), starting with no registrations, as a restarted server does. */
  async start(port = 0): Promise<this> {
    this.registrations.clear();
    const onSocket = (socket: net.Socket): void => {
      const connection = ++this.#accepted;
      // A second reader of the same bytes: the endpoint drops notifications once request() has its first response.
      const decoder = new StreamFrameDecoder(1 << 20);
      socket.on('data', (chunk: Buffer) => {
        for (const m of decoder.push(chunk)) {
          if (m.code >> 5 !== 2) continue;
          const observe = m.options.find((o) => o.number === 6);
          this.frames.push({
            connection, token: Buffer.from(m.token).toString('hex'),
            observe: observe ? decodeUint(observe.value) : undefined, payload: new TextDecoder().decode(m.payload),
          });
        }
      });
      const ep = new StreamCoapEndpoint(socket);
      this.connections.add(ep);
      ep.onClose(() => this.connections.delete(ep));
      // The connection is the client's identity on a stream: a Send is taken from one that registered.
      const client: { endpoint?: string } = {};
      ep.serve((req) => this.#handle(req, ep, connection, client));
    };
    const psk = this.psk instanceof Uint8Array ? { key: this.psk } : this.psk;
    const server = psk
      ? tls.createServer({
        pskCallback: (_socket, identity) => {
          this.identities.push(identity);
          return psk.identity === undefined || identity === psk.identity ? Buffer.from(psk.key) : null;
        },
        pskIdentityHint: 'lwm2m',
        ciphers: 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256',
        maxVersion: 'TLSv1.2',
      }, onSocket)
      : net.createServer(onSocket);
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  /** Stops listening first (so a reconnect is refused), then drops every connection without a Release. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const ep of this.connections) ep.abort('server going down');
    await closed;
  }

  /**
   * Observe (GET with Observe=0, text) over the connection the registration last used; resolves with the token (hex)
   * and that connection's number. Notifications show in `frames`.
   */
  async observe(location: string, path: readonly string[]): Promise<{ token: string; connection: number; code: string }> {
    const route = this.#routes.get(location);
    if (!route) throw new Error(`no connection for /rd/${location}`);
    const res = await route.ep.request({ address: '', port: 0 }, { method: 'GET', path, observe: 0, accept: 0 });
    return { token: Buffer.from(res.token).toString('hex'), connection: route.connection, code: res.code };
  }

  /** Drops every client connection (as a NAT or a restarting server would), keeping the listener and the registrations. */
  dropConnections(): void {
    for (const ep of this.connections) ep.abort('connection dropped');
  }

  /** What a restart does to the server's state, without closing the listener. */
  forget(): void {
    this.registrations.clear();
    for (const ep of this.connections) ep.abort('server restarting');
  }

  #handle(req: IncomingRequest, from: StreamCoapEndpoint, connection: number, client: { endpoint?: string }): OutgoingResponse {
    const [root, id] = req.path;
    if (root === 'dp' && req.method === 'POST' && id === undefined) {
      if (client.endpoint === undefined) return { code: '4.04' };
      const { response, report } = acceptSend(req, client.endpoint);
      if (report) this.sends.push(report);
      return response;
    }
    if (root !== 'rd') return { code: '4.04' };
    if (req.method === 'POST' && id === undefined) {
      const ep = req.query.find((q) => q.startsWith('ep='))?.slice(3) ?? '';
      client.endpoint = ep;
      const location = String(this.#next++);
      this.registrations.set(location, ep);
      this.#routes.set(location, { ep: from, connection });
      return { code: '2.01', locationPath: ['rd', location] };
    }
    if (id === undefined || !this.registrations.has(id)) return { code: '4.04' };
    if (req.method === 'POST') {
      this.updates++;
      this.#routes.set(id, { ep: from, connection });
      return { code: '2.04' };
    }
    if (req.method === 'DELETE') {
      this.registrations.delete(id);
      this.deregistrations++;
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }
}
