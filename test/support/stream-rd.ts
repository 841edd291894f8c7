// A registration server over RFC 8323 (coap+tcp, or coaps+tcp with TLS-PSK) for tests: registers, updates and de-registers, recording each.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StreamCoapEndpoint, type IncomingRequest, type OutgoingResponse } from '../../runtime/coap/index.js';

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
  #server: net.Server | undefined;
  #next = 1;
  port = 0;

  /** `psk` makes it a TLS-PSK server; a bare key takes any identity with that key. */
  constructor(readonly psk?: StreamRdPsk | Uint8Array) {}

  /** Listens on `port` (any free one by default), starting with no registrations, as a restarted server does. */
  async start(port = 0): Promise<this> {
    this.registrations.clear();
    const onSocket = (socket: net.Socket): void => {
      const ep = new StreamCoapEndpoint(socket);
      this.connections.add(ep);
      ep.onClose(() => this.connections.delete(ep));
      ep.serve((req) => this.#handle(req));
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

  /** What a restart does to the server's state, without closing the listener. */
  forget(): void {
    this.registrations.clear();
    for (const ep of this.connections) ep.abort('server restarting');
  }

  #handle(req: IncomingRequest): OutgoingResponse {
    const [root, id] = req.path;
    if (root !== 'rd') return { code: '4.04' };
    if (req.method === 'POST' && id === undefined) {
      const ep = req.query.find((q) => q.startsWith('ep='))?.slice(3) ?? '';
      const location = String(this.#next++);
      this.registrations.set(location, ep);
      return { code: '2.01', locationPath: ['rd', location] };
    }
    if (id === undefined || !this.registrations.has(id)) return { code: '4.04' };
    if (req.method === 'POST') return { code: '2.04' };
    if (req.method === 'DELETE') {
      this.registrations.delete(id);
      this.deregistrations++;
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }
}
