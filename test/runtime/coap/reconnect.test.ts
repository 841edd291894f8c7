// reconnect.ts: the DTLS endpoint's re-handshake rules on a fake session and a manual clock; the stream endpoint's reconnects over TCP.
import * as net from 'node:net';
import {
  CoapClosedError, CoapTimeoutError, DtlsError, ManualClock, MemoryNetwork, StreamCoapEndpoint, TlsError, connectCoapEndpoint,
  createCoapEndpoint, type CoapEndpoint, type DatagramTransport, type DtlsTransport, type IncomingResponse, type Peer,
} from '../../../runtime/coap/index.js';
import { ReconnectingStreamEndpoint, RehandshakingEndpoint } from '../../../runtime/coap/reconnect.js';

/** Lets queued microtasks and in-memory deliveries run; no wall-clock time is involved. */
async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A DtlsTransport stand-in over the memory network. `sessionValid` plays the server's memory of our session: when it
 * is false (server restarted) datagrams are dropped, as a real server drops records of a session it does not know.
 */
class FakeDtls implements DtlsTransport {
  readonly remote: Peer;
  connected = true;
  sessionValid = true;
  handshakes = 0;
  /** Errors the next handshakes fail with, in order. */
  readonly failures: DtlsError[] = [];
  /** Set while a handshake is held open, to see concurrent requests share it. */
  hold: Promise<void> | undefined;
  readonly #inner: DatagramTransport;
  readonly #errorListeners: ((err: DtlsError) => void)[] = [];

  constructor(inner: DatagramTransport, remote: Peer) {
    this.#inner = inner;
    this.remote = remote;
  }

  send(data: Uint8Array, peer: Peer): Promise<void> | void {
    if (!this.connected) return Promise.reject(new DtlsError('closed', 'no DTLS session'));
    if (!this.sessionValid) return undefined;
    return this.#inner.send(data, peer);
  }
  onMessage(listener: (data: Uint8Array, peer: Peer) => void): void {
    this.#inner.onMessage(listener);
  }
  onError(listener: (err: DtlsError) => void): void {
    this.#errorListeners.push(listener);
  }
  address(): Peer {
    return this.#inner.address();
  }
  async reconnect(): Promise<void> {
    this.handshakes++;
    this.connected = false;
    if (this.hold) await this.hold;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.connected = true;
    this.sessionValid = true;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
  /** The session ends with a fatal alert. */
  lose(): void {
    this.connected = false;
    for (const l of this.#errorListeners) l(new DtlsError('alert', 'dtls fake: fatal alert (decrypt_error)', 'decrypt_error'));
  }
}

describe('RehandshakingEndpoint (fake DTLS session, manual clock)', () => {
  const fast = { ackTimeout: 100, ackRandomFactor: 1, maxRetransmit: 1 };
  let clock: ManualClock;
  let server: CoapEndpoint;
  let fake: FakeDtls;
  let ep: RehandshakingEndpoint;
  let serverPeer: Peer;

  beforeEach(() => {
    clock = new ManualClock();
    const network = new MemoryNetwork();
    const serverTransport = network.createTransport('10.0.0.2', 5684);
    serverPeer = serverTransport.address();
    server = createCoapEndpoint(serverTransport, { ...fast, clock });
    server.serve((req) => ({ code: req.path[0] === 'missing' ? '4.04' : '2.05', payload: new TextEncoder().encode('ok') }));
    fake = new FakeDtls(network.createTransport('10.0.0.1'), serverPeer);
    ep = new RehandshakingEndpoint(createCoapEndpoint(fake, { ...fast, clock }), fake);
  });
  afterEach(async () => {
    await ep.close();
    await server.close();
  });

  /** Runs a request to its end, advancing the manual clock past the CoAP retransmission span. */
  async function settle(p: Promise<IncomingResponse>): Promise<IncomingResponse | Error> {
    const result = p.then((r) => r, (e: unknown) => e as Error);
    for (let i = 0; i < 20; i++) {
      await flush();
      clock.advance(100);
    }
    return result;
  }

  it('answers on the first session without a handshake while it is good, error responses included', async () => {
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toMatchObject({ code: '2.05' });
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['missing'] }))).toMatchObject({ code: '4.04' });
    expect([fake.handshakes, ep.reconnects, ep.stale]).toEqual([0, 0, false]);
  });

  it('a timed-out request makes the next one re-handshake first', async () => {
    fake.sessionValid = false;
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toBeInstanceOf(CoapTimeoutError);
    expect([fake.handshakes, ep.stale]).toEqual([0, true]);
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toMatchObject({ code: '2.05' });
    expect([fake.handshakes, ep.reconnects, ep.stale]).toEqual([1, 1, false]);
  });

  it('requests arriving during a handshake share it', async () => {
    ep.invalidateSession();
    let release!: () => void;
    fake.hold = new Promise<void>((r) => { release = r; });
    const a = settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }));
    const b = settle(ep.request(serverPeer, { method: 'GET', path: ['b'] }));
    await flush();
    release();
    expect(await a).toMatchObject({ code: '2.05' });
    expect(await b).toMatchObject({ code: '2.05' });
    expect(fake.handshakes).toBe(1);
  });

  it('a failed handshake rejects the request with its DtlsError, is reported, and is tried again on the next request', async () => {
    const reported: Error[] = [];
    ep.onReconnectError((e) => reported.push(e));
    const failure = new DtlsError('timeout', 'dtls fake: handshake timed out');
    fake.failures.push(failure);
    ep.invalidateSession();
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toBe(failure);
    expect(reported).toEqual([failure]);
    expect(ep.stale).toBe(true);
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toMatchObject({ code: '2.05' });
    expect([fake.handshakes, ep.reconnects]).toEqual([2, 1]);
  });

  it('a session lost to an alert is reported once, and the next request re-handshakes', async () => {
    const lost: (Error | undefined)[] = [];
    ep.onConnectionLost((e) => lost.push(e));
    fake.lose();
    fake.lose();
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(DtlsError);
    expect(await settle(ep.request(serverPeer, { method: 'GET', path: ['a'] }))).toMatchObject({ code: '2.05' });
    expect(fake.handshakes).toBe(1);
    // A new session can be lost again.
    fake.lose();
    expect(lost).toHaveLength(2);
  });

  it('after close() requests reject with CoapClosedError and nothing handshakes', async () => {
    ep.invalidateSession();
    await ep.close();
    await expect(ep.request(serverPeer, { method: 'GET', path: ['a'] })).rejects.toBeInstanceOf(CoapClosedError);
    expect(fake.handshakes).toBe(0);
  });
});

/** A TCP CoAP server on 127.0.0.1 that can drop its connections and stop and start listening on its port. */
class TcpPeer {
  readonly connections = new Set<StreamCoapEndpoint>();
  #server: net.Server | undefined;
  port = 0;

  async listen(port = 0): Promise<void> {
    const server = net.createServer((socket) => {
      const ep = new StreamCoapEndpoint(socket);
      this.connections.add(ep);
      ep.onClose(() => this.connections.delete(ep));
      ep.serve((req) => ({ code: '2.05', payload: new TextEncoder().encode(req.path.join('/')) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  dropAll(): void {
    for (const c of this.connections) c.abort('test drop');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    this.dropAll();
    await closed;
  }
}

describe('ReconnectingStreamEndpoint over TCP on 127.0.0.1', () => {
  let peer: TcpPeer;
  let ep: ReconnectingStreamEndpoint | undefined;
  let connects = 0;

  beforeEach(async () => {
    peer = new TcpPeer();
    await peer.listen();
    connects = 0;
  });
  afterEach(async () => {
    await ep?.close();
    ep = undefined;
    await peer.stop();
  });

  async function open(): Promise<ReconnectingStreamEndpoint> {
    const uri = `coap+tcp://127.0.0.1:${peer.port}`;
    ep = await ReconnectingStreamEndpoint.open(() => {
      connects++;
      return connectCoapEndpoint(uri, { connectTimeoutMs: 2000 });
    });
    return ep;
  }

  async function dropped(e: ReconnectingStreamEndpoint): Promise<void> {
    const lost = new Promise<void>((resolve) => e.onConnectionLost(() => resolve()));
    peer.dropAll();
    await lost;
  }

  it('reconnects once for the requests after a drop; the server end stays the same host and port', async () => {
    const e = await open();
    const remote = e.remote();
    expect((await e.request(remote, { method: 'GET', path: ['a'] })).code).toBe('2.05');
    await dropped(e);
    expect(e.current.closed).toBe(true);
    const [a, b] = await Promise.all([
      e.request(remote, { method: 'GET', path: ['a'] }),
      e.request(remote, { method: 'GET', path: ['b'] }),
    ]);
    expect([a.code, new TextDecoder().decode(b.payload)]).toEqual(['2.05', 'b']);
    expect([connects, e.reconnects]).toEqual([2, 1]);
    expect(e.remote()).toEqual(remote);
  });

  it('a refused connect rejects the request with a TlsError, is reported, and the next request tries again', async () => {
    const e = await open();
    const port = peer.port;
    const reported: Error[] = [];
    e.onReconnectError((err) => reported.push(err));
    const lost = new Promise<void>((resolve) => e.onConnectionLost(() => resolve()));
    await peer.stop();
    await lost;
    const err = await e.request(e.remote(), { method: 'GET', path: ['a'] }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('refused');
    expect(reported).toEqual([err]);
    await peer.listen(port);
    expect((await e.request(e.remote(), { method: 'GET', path: ['a'] })).code).toBe('2.05');
    expect([connects, e.reconnects]).toEqual([3, 1]);
  });

  it('the serve() handler carries over to the new connection', async () => {
    const e = await open();
    e.serve((req) => ({ code: '2.05', payload: new TextEncoder().encode(`client:${req.path.join('/')}`) }));
    await dropped(e);
    await e.request(e.remote(), { method: 'GET', path: ['wake'] });
    const [serverSide] = [...peer.connections];
    const res = await serverSide!.request(serverSide!.remote(), { method: 'GET', path: ['3', '0'] });
    expect(new TextDecoder().decode(res.payload)).toBe('client:3/0');
  });

  it('the streamBlock1 selector carries over to the new connection too', async () => {
    const e = await open();
    const sizes: number[] = [];
    e.streamBlock1(() => ({ write: (_offset, bytes) => { sizes.push(bytes.length); } }));
    e.serve((req) => ({ code: '2.04', payload: new TextEncoder().encode(String(req.streamed)) }));
    await dropped(e);
    await e.request(e.remote(), { method: 'GET', path: ['wake'] });
    const [serverSide] = [...peer.connections];
    const res = await serverSide!.request(serverSide!.remote(), { method: 'PUT', path: ['5', '0', '0'], payload: new Uint8Array(200_000) });
    expect(new TextDecoder().decode(res.payload)).toBe('200000');
    expect(sizes.length).toBeGreaterThan(1);
  });

  it('a notification after a drop does not reconnect: the observation died with the connection', async () => {
    const e = await open();
    await dropped(e);
    expect(await e.notify(e.remote(), new Uint8Array([1]), { code: '2.05' }, false)).toBe('reset');
    expect(connects).toBe(1);
  });

  it('close() reports no loss, and afterwards requests reject with CoapClosedError without connecting', async () => {
    const e = await open();
    const lost: unknown[] = [];
    e.onConnectionLost((err) => lost.push(err));
    await e.close();
    await expect(e.request(e.remote(), { method: 'GET', path: ['a'] })).rejects.toBeInstanceOf(CoapClosedError);
    expect([lost, connects]).toEqual([[], 1]);
  });
});
