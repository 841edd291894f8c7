// connectClient over coap+tcp:// and coaps+tcp:// (PSK) recovers from a server restart on the same port: reconnects, registers again.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { inspect } from 'node:util';
import { StreamCoapEndpoint, TlsError, type IncomingRequest, type OutgoingResponse } from '../../../runtime/coap/index.js';
import { ReconnectingStreamEndpoint } from '../../../runtime/coap/reconnect.js';
import { connectClient, type ConnectedClient } from '../../../runtime/client/index.js';
import { TestDevice, TestServer } from '../../support/objects.js';

const KEY = Buffer.from('5ec7e75ec7e75ec7e75ec7e75ec7e75e', 'hex');
const IDENTITY = 'urn:dev:reconnect';
const pskServerOptions: tls.TlsOptions = {
  pskCallback: (_socket, identity) => (identity === IDENTITY ? KEY : null),
  pskIdentityHint: 'lwm2m',
  ciphers: 'PSK-AES128-CCM8:PSK-AES128-GCM-SHA256',
  maxVersion: 'TLSv1.2',
};

/** A registration server over RFC 8323 that forgets everything when stopped, as a restarted server does. */
class StreamRd {
  readonly registrations = new Map<string, string>();
  readonly connections = new Set<StreamCoapEndpoint>();
  #server: net.Server | undefined;
  #next = 1;
  port = 0;

  constructor(readonly secure: boolean) {}

  async start(port = 0): Promise<void> {
    this.registrations.clear();
    const onSocket = (socket: net.Socket): void => {
      const ep = new StreamCoapEndpoint(socket);
      this.connections.add(ep);
      ep.onClose(() => this.connections.delete(ep));
      ep.serve((req) => this.#handle(req));
    };
    const server = this.secure ? tls.createServer(pskServerOptions, onSocket) : net.createServer(onSocket);
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
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
      return { code: '2.02' };
    }
    return { code: '4.05' };
  }
}

describe.each([
  ['coap+tcp', false],
  ['coaps+tcp', true],
] as const)('connectClient over %s after a server restart', (scheme, secure) => {
  let rd: StreamRd;
  let connected: ConnectedClient | undefined;

  beforeEach(async () => {
    rd = new StreamRd(secure);
    await rd.start();
  });
  afterEach(async () => {
    await connected?.close();
    connected = undefined;
    await rd.stop();
  });

  async function connect(): Promise<ConnectedClient> {
    connected = await connectClient(`${scheme}://127.0.0.1:${rd.port}`, {
      endpointName: 'stream-dev', lifetime: 86400, closeTimeoutMs: 1000, retry: { initialDelayMs: 50, maxDelayMs: 200 },
      ...(secure ? { pskIdentity: IDENTITY, pskKey: KEY } : {}),
    });
    connected.client.addInstance(new TestServer(0, { shortServerId: 101, lifetime: 86400 })).addInstance(new TestDevice());
    return connected;
  }

  it('reconnects, registers again, serves the new server, and reports the refused connects as TlsError', async () => {
    const { client, endpoint } = await connect();
    expect(endpoint).toBeInstanceOf(ReconnectingStreamEndpoint);
    await client.start();
    expect([...rd.registrations.values()]).toEqual(['stream-dev']);

    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const failed = client.next('registration-failed');
    const refused = client.next('error');
    const port = rd.port;
    await rd.stop();
    // The dropped connection makes the client look at once; with the server gone the connect is refused.
    const err = await refused;
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('refused');
    expect((await failed).operation).toBe('update');

    const registered = client.next('registered');
    await rd.start(port);
    await registered;
    expect([...rd.registrations.values()]).toEqual(['stream-dev']);
    expect((endpoint as ReconnectingStreamEndpoint).reconnects).toBe(1);

    // The client's handler carried over to the new connection.
    const [serverSide] = [...rd.connections];
    const res = await serverSide!.request(serverSide!.remote(), { method: 'GET', path: ['3', '0', '0'] });
    expect(res.code).toBe('2.05');
    expect(new TextDecoder().decode(res.payload)).not.toBe('');

    for (const e of errors) {
      const dump = inspect(e) + String(e.stack);
      expect(dump).not.toContain(KEY.toString('hex'));
    }
  });

  it('a server back before the client reconnects answers the Update with 4.04, and the client registers afresh at once', async () => {
    const { client, endpoint } = await connect();
    await client.start();
    const updateFailed = client.next('registration-failed');
    const registered = client.next('registered');
    // A restart faster than the client can notice: the listener stays, connections and registrations go.
    rd.forget();
    const failure = await updateFailed;
    expect([failure.operation, failure.code, failure.retryInMs]).toEqual(['update', '4.04', 0]);
    await registered;
    expect([...rd.registrations.values()]).toEqual(['stream-dev']);
    expect((endpoint as ReconnectingStreamEndpoint).reconnects).toBe(1);
  });

  it('close() after the connection dropped does not reconnect to de-register a registration the server lost', async () => {
    const { client } = await connect();
    await client.start();
    const failed = client.next('registration-failed');
    await rd.stop();
    await failed;
    const c = connected!;
    connected = undefined;
    expect(await c.close()).toEqual({ timedOut: false });
    expect(rd.connections.size).toBe(0);
  });
});
