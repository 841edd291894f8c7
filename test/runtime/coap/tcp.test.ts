import * as net from 'node:net';
import { ManualClock } from '../../../runtime/coap/clock.js';
import { CoapBlockwiseError, CoapClosedError, CoapTimeoutError } from '../../../runtime/coap/errors.js';
import { OptionNumber, decodeBlock, getOption } from '../../../runtime/coap/message.js';
import { NotFoundError } from '../../../runtime/errors.js';
import { SIGNAL, StreamFrameDecoder, encodeStreamMessage } from '../../../runtime/coap/stream-codec.js';
import { TlsError } from '../../../runtime/coap/stream-errors.js';
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import { StreamCoapEndpoint, type StreamEndpointOptions } from '../../../runtime/coap/tcp.js';
import type { IncomingRequest, RawOption } from '../../../runtime/coap/types.js';

const ANY = { address: '', port: 0 };
const text = (b: Uint8Array): string => Buffer.from(b).toString();

/** A plain TCP server on 127.0.0.1 whose accepted sockets become endpoints (or raw sockets for protocol tests). */
async function listen(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('StreamCoapEndpoint over TCP', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function pair(serverOptions: StreamEndpointOptions = {}, clientOptions: StreamEndpointOptions = {}) {
    let serverSide!: StreamCoapEndpoint;
    const accepted = new Promise<void>((resolve) => {
      void listen((s) => {
        serverSide = new StreamCoapEndpoint(s, serverOptions);
        resolve();
      }).then((srv) => {
        cleanups.push(() => srv.close());
        portResolve(srv.port);
      });
    });
    let portResolve!: (p: number) => void;
    const port = await new Promise<number>((r) => { portResolve = r; });
    const client = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${port}`, clientOptions);
    cleanups.push(() => client.close());
    await accepted;
    await serverSide.ready;
    return { client, server: serverSide };
  }

  it('exchanges CSMs and routes a request to the handler and its response back by token', async () => {
    const { client, server } = await pair({ maxMessageSize: 4000 }, { maxMessageSize: 3000 });
    expect(client.peerCapabilities).toEqual({ maxMessageSize: 4000, blockWise: true });
    expect(server.peerCapabilities).toEqual({ maxMessageSize: 3000, blockWise: true });
    const seen: IncomingRequest[] = [];
    server.serve((req) => {
      seen.push(req);
      return { code: '2.01', locationPath: ['rd', 'abc'], contentFormat: 40, payload: Buffer.from(`hi ${req.query.join('&')}`) };
    });
    const res = await client.request(ANY, {
      method: 'POST', path: ['rd'], query: ['ep=dev1', 'lt=300'], contentFormat: 40, payload: Buffer.from('</3/0>'),
      options: [{ number: 65000, value: Uint8Array.of(9) }],
    });
    expect(res.code).toBe('2.01');
    expect(res.locationPath).toEqual(['rd', 'abc']);
    expect(res.contentFormat).toBe(40);
    expect(text(res.payload)).toBe('hi ep=dev1&lt=300');
    expect(seen[0]).toMatchObject({ method: 'POST', path: ['rd'], query: ['ep=dev1', 'lt=300'], contentFormat: 40, confirmable: true });
    expect(text(seen[0]!.payload)).toBe('</3/0>');
    expect(seen[0]!.options).toEqual([{ number: 65000, value: Uint8Array.of(9) }]);
  });

  it('keeps concurrent requests apart by token', async () => {
    const { client, server } = await pair();
    server.serve(async (req) => {
      // Answer in reverse order of arrival so matching cannot rely on order.
      await new Promise((r) => setImmediate(r));
      if (req.path[0] === '0') await new Promise((r) => setTimeout(r, 20));
      return { code: '2.05', payload: Buffer.from(req.path[0]!) };
    });
    const results = await Promise.all(['0', '1', '2', '3'].map((p) => client.request(ANY, { method: 'GET', path: [p] })));
    expect(results.map((r) => text(r.payload))).toEqual(['0', '1', '2', '3']);
  });

  it('splits a large request (Block1) and a large response (Block2) to fit a small peer Max-Message-Size', async () => {
    const { client, server } = await pair({ maxMessageSize: 1152 }, { maxMessageSize: 1152 });
    const body = Buffer.alloc(5000).map((_, i) => (i * 7) & 0xff);
    let received: Uint8Array | undefined;
    let calls = 0;
    server.serve((req) => {
      calls++;
      if (req.method === 'PUT') {
        received = req.payload;
        return { code: '2.04' };
      }
      return { code: '2.05', contentFormat: 42, payload: body };
    });
    const put = await client.request(ANY, { method: 'PUT', path: ['fw'], payload: body });
    expect(put.code).toBe('2.04');
    expect(Buffer.from(received!).equals(body)).toBe(true);
    const get = await client.request(ANY, { method: 'GET', path: ['fw'] });
    expect(get.code).toBe('2.05');
    expect(get.contentFormat).toBe(42);
    expect(Buffer.from(get.payload).equals(body)).toBe(true);
    // The handler runs once per complete request, not once per block.
    expect(calls).toBe(2);
  });

  it('caps reassembly: an oversized Block1 upload gets 4.13, an oversized Block2 response a CoapBlockwiseError', async () => {
    const { client, server } = await pair({ maxMessageSize: 1152, maxBodySize: 3000 }, { maxMessageSize: 1152, maxBodySize: 3000 });
    let calls = 0;
    server.serve(() => {
      calls++;
      return { code: '2.05', payload: Buffer.alloc(5000, 1) };
    });
    const put = await client.request(ANY, { method: 'PUT', path: ['big'], payload: Buffer.alloc(5000, 2) });
    expect(put.code).toBe('4.13');
    expect(calls).toBe(0);
    await expect(client.request(ANY, { method: 'GET', path: ['big'] })).rejects.toBeInstanceOf(CoapBlockwiseError);
  });

  it('answers 4.00, as over UDP, to a Block1 or Block2 value longer than 3 bytes (RFC 7959 §2.2)', async () => {
    const { client, server } = await pair();
    let handled = 0;
    server.serve(() => {
      handled++;
      return { code: '2.05' };
    });
    for (const number of [27, 23]) {
      const res = await client.request(ANY, { method: 'PUT', path: ['a'], options: [{ number, value: Uint8Array.of(0, 0, 0, 0x08) }] });
      expect(res.code).toBe('4.00');
    }
    expect(handled).toBe(0);
  });

  it('answers 5.00 when the handler throws and 4.04 with no handler', async () => {
    const { client, server } = await pair();
    expect((await client.request(ANY, { method: 'GET', path: ['x'] })).code).toBe('4.04');
    server.serve(() => {
      throw new Error('boom');
    });
    expect((await client.request(ANY, { method: 'GET', path: ['x'] })).code).toBe('5.00');
  });

  it('answers Ping with Pong', async () => {
    const { client } = await pair();
    await expect(client.ping()).resolves.toBeGreaterThanOrEqual(0);
  });

  it('notify resolves sent once written and reset once the connection is gone', async () => {
    const { client, server } = await pair();
    let observeToken: Uint8Array | undefined;
    server.serve((req) => {
      observeToken = req.token;
      return { code: '2.05', observe: 0, payload: Buffer.from('v0') };
    });
    const first = await client.request(ANY, { method: 'GET', path: ['3', '0', '9'], observe: 0 });
    expect(first.observe).toBe(0);
    expect(await server.notify(server.remote(), observeToken!, { code: '2.05', observe: 1, payload: Buffer.from('v1') }, true)).toBe('sent');
    await client.close();
    await new Promise<void>((r) => server.onClose(() => r()));
    expect(await server.notify(server.remote(), observeToken!, { code: '2.05', observe: 2, payload: Buffer.from('v2') }, false)).toBe('reset');
  });

  it('rejects outstanding requests with CoapClosedError when the peer releases the connection', async () => {
    const { client, server } = await pair();
    let release!: () => void;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    server.serve(() => new Promise((r) => {
      release = () => r({ code: '2.05' });
      entered();
    }));
    const pending = client.request(ANY, { method: 'GET', path: ['slow'] }).catch((e: unknown) => e);
    await inHandler;
    const closed = new Promise<unknown>((r) => client.onClose((e) => r(e)));
    await server.close();
    expect(await pending).toBeInstanceOf(CoapClosedError);
    await closed;
    await expect(client.request(ANY, { method: 'GET', path: ['x'] })).rejects.toBeInstanceOf(CoapClosedError);
    release();
  });

  it("answers a handler's Lwm2mError with its own code, as over UDP", async () => {
    const { client, server } = await pair();
    server.serve(() => {
      throw new NotFoundError('no such instance', { objectId: 3, instanceId: 7 });
    });
    const res = await client.request(ANY, { method: 'GET', path: ['3', '7'] });
    expect(res.code).toBe('4.04');
    expect(text(res.payload)).toBe('/3/7: no such instance');
  });

  it('offers BERT through CSM and uses it both ways when both sides do (RFC 8323 §6)', async () => {
    const { client, server } = await pair({ maxMessageSize: 9000 }, { maxMessageSize: 9000 });
    expect(client.bert).toBe(true);
    expect(server.bert).toBe(true);
    const body = Buffer.alloc(40_000).map((_, i) => (i * 13) & 0xff);
    const block1s: number[] = [];
    const writes: Array<[number, number, boolean]> = [];
    const parts: Uint8Array[] = [];
    server.streamBlock1((start) => (start.path[0] === 'fw' ? {
      write: (offset, bytes, more) => {
        writes.push([offset, bytes.length, more]);
        parts.push(bytes.slice());
      },
    } : undefined));
    server.serve((req) => {
      if (req.method === 'PUT') {
        const b1 = req.options.find((o: RawOption) => o.number === OptionNumber.Block1);
        if (b1) block1s.push(decodeBlock(b1.value)!.szx);
        return { code: '2.04', payload: Buffer.from(String(req.streamed ?? req.payload.length)) };
      }
      return { code: '2.05', payload: body };
    });
    // Streamed: the sink gets BERT blocks (several KiB each, a multiple of 1024 but the last).
    const put = await client.request(ANY, { method: 'PUT', path: ['fw'], payload: body });
    expect(put.code).toBe('2.04');
    expect(text(put.payload)).toBe('40000');
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.length).toBeLessThan(40_000 / 1024);
    for (const [offset, length, more] of writes) {
      expect(offset % 1024).toBe(0);
      if (more) expect(length % 1024).toBe(0);
    }
    expect(writes[0]![1]).toBeGreaterThan(1024);
    // Reassembled the same way, and a large response comes back in BERT blocks.
    const other = await client.request(ANY, { method: 'PUT', path: ['other'], payload: body });
    expect(text(other.payload)).toBe('40000');
    const get = await client.request(ANY, { method: 'GET', path: ['fw'] });
    expect(Buffer.from(get.payload).equals(body)).toBe(true);
    expect(block1s).toEqual([]); // Block options are the layer's, not the handler's.
  });

  it('keeps to 1024-byte blocks when the peer offers no BERT (Max-Message-Size 1152)', async () => {
    const { client, server } = await pair({ maxMessageSize: 1152 }, { maxMessageSize: 9000 });
    expect(client.bert).toBe(false);
    expect(server.bert).toBe(false);
    const writes: number[] = [];
    server.streamBlock1(() => ({ write: (_offset, bytes) => { writes.push(bytes.length); } }));
    server.serve((req) => ({ code: '2.04', payload: Buffer.from(String(req.streamed)) }));
    const res = await client.request(ANY, { method: 'PUT', path: ['fw'], payload: Buffer.alloc(5000, 3) });
    expect(text(res.payload)).toBe('5000');
    expect(writes).toEqual([1024, 1024, 1024, 1024, 904]);
  });

  it('a BERT response block names its first 1024-byte unit and the follow-up asks for the next', async () => {
    const { client, server } = await pair({ maxMessageSize: 5000 }, { maxMessageSize: 5000 });
    const body = Buffer.alloc(10_000, 7);
    server.serve(() => ({ code: '2.05', payload: body }));
    const first = await client.request(ANY, { method: 'GET', path: ['big'], options: [{ number: OptionNumber.Block2, value: Uint8Array.of(0x07) }] });
    const b2 = decodeBlock(getOption(first.options, OptionNumber.Block2)!)!;
    expect(b2).toEqual({ num: 0, more: true, szx: 7 });
    expect(first.payload.length % 1024).toBe(0);
    const units = first.payload.length / 1024;
    const next = await client.request(ANY, { method: 'GET', path: ['big'], options: [{ number: OptionNumber.Block2, value: Uint8Array.of((units << 4) | 0x07) }] });
    expect(decodeBlock(getOption(next.options, OptionNumber.Block2)!)!.num).toBe(units);
  });

  it('times requests out on the injected clock', async () => {
    const clock = new ManualClock();
    const { client, server } = await pair({}, { requestTimeoutMs: 10_000, clock });
    server.serve(() => new Promise(() => undefined));
    const pending = client.request(ANY, { method: 'GET', path: ['never'] }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.pending).toBe(1);
    clock.advance(10_000);
    expect(await pending).toBeInstanceOf(CoapTimeoutError);
  });

  it('times out a request the peer never answers with CoapTimeoutError', async () => {
    const { client, server } = await pair({}, { requestTimeoutMs: 50 });
    server.serve(() => new Promise(() => undefined));
    await expect(client.request(ANY, { method: 'GET', path: ['never'] })).rejects.toBeInstanceOf(CoapTimeoutError);
  });
});

describe('StreamCoapEndpoint protocol rules', () => {
  let srv: Awaited<ReturnType<typeof listen>> | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  /** A raw peer: records the frames our endpoint sends and writes whatever the test tells it to. */
  async function rawPeer(script: (s: net.Socket, frames: number[]) => void) {
    const frames: number[] = [];
    srv = await listen((s) => {
      const dec = new StreamFrameDecoder(1 << 20);
      s.on('data', (d) => {
        try {
          for (const m of dec.push(d)) frames.push(m.code);
        } catch {
          // ignore
        }
      });
      script(s, frames);
    });
    return { port: srv.port, frames };
  }

  it('aborts when the peer starts with something other than a CSM', async () => {
    const peer = await rawPeer((s) => s.write(encodeStreamMessage({ code: 0x01, token: Uint8Array.of(1), options: [], payload: new Uint8Array(0) })));
    const err = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${peer.port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).failure).toBe('protocol');
  });

  it('aborts on an unknown critical CSM option and reports it with Bad-CSM-Option', async () => {
    const peer = await rawPeer((s) => s.write(encodeStreamMessage({ code: SIGNAL.CSM, token: new Uint8Array(0), options: [{ number: 9, value: new Uint8Array(0) }], payload: new Uint8Array(0) })));
    const err = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${peer.port}`).catch((e: unknown) => e);
    expect((err as TlsError).failure).toBe('protocol');
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.frames).toEqual([SIGNAL.CSM, SIGNAL.Abort]);
  });

  it('aborts on a frame over our Max-Message-Size and on garbage', async () => {
    let sock!: net.Socket;
    const peer = await rawPeer((s) => {
      sock = s;
      s.write(encodeStreamMessage({ code: SIGNAL.CSM, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
    });
    const ep = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${peer.port}`, { maxMessageSize: 1152 });
    const closed = new Promise<unknown>((r) => ep.onClose((e) => r(e)));
    sock.write(encodeStreamMessage({ code: 0x45, token: Uint8Array.of(1), options: [], payload: new Uint8Array(3000) }));
    const err = await closed;
    expect((err as TlsError).failure).toBe('protocol');
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.frames).toEqual([SIGNAL.CSM, SIGNAL.Abort]);
  });

  it('reports a peer Abort with its diagnostic and a refused port as refused', async () => {
    let sock!: net.Socket;
    const peer = await rawPeer((s) => {
      sock = s;
      s.write(encodeStreamMessage({ code: SIGNAL.CSM, token: new Uint8Array(0), options: [], payload: new Uint8Array(0) }));
    });
    const ep = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${peer.port}`);
    expect(ep.peerCapabilities).toEqual({ maxMessageSize: 1152, blockWise: false });
    const closed = new Promise<unknown>((r) => ep.onClose((e) => r(e)));
    sock.write(encodeStreamMessage({ code: SIGNAL.Abort, token: new Uint8Array(0), options: [], payload: Buffer.from('going away') }));
    const err = (await closed) as TlsError;
    expect(err.failure).toBe('aborted');
    expect(err.message).toContain('going away');
    const port = peer.port;
    await srv!.close();
    srv = undefined;
    const refused = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect((refused as TlsError).failure).toBe('refused');
  });

  it('refuses URIs it does not serve', async () => {
    await expect(connectCoapEndpoint('coap://127.0.0.1')).rejects.toThrow(TypeError);
    await expect(connectCoapEndpoint('nonsense')).rejects.toThrow(TypeError);
  });
});
