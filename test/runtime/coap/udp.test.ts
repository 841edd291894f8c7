// Integration over real UDP sockets on 127.0.0.1: libcoap's coap-client and node-coap as independent peers,
// a CoAP ping, and hostile datagrams.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as coap from 'coap';
import {
  createUdpEndpoint,
  createUdpTransport,
  createCoapEndpoint,
  decodeMessage,
  encodeMessage,
  OptionNumber,
  type CoapEndpoint,
  type CoapMessage,
  type DatagramTransport,
  type IncomingRequest,
  type Peer,
} from '../../../runtime/coap/index.js';
import { NotFoundError } from '../../../runtime/errors.js';

const te = new TextEncoder();
const td = new TextDecoder();

const children = new Set<ChildProcess>();
const closers: Array<() => Promise<void> | void> = [];
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coap-udp-test-'));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs coap-client (libcoap) and collects its output; it exits 0 even on failure, so callers check the text. */
function coapClient(args: string[], timeoutMs = 15_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('coap-client-notls', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ stdout, stderr });
    });
  });
}

/** A UDP transport that also records every decoded incoming message, to check what the peer really sent. */
async function recordingEndpoint(): Promise<{ endpoint: CoapEndpoint; received: CoapMessage[]; port: number }> {
  const udp = await createUdpTransport({ address: '127.0.0.1' });
  const received: CoapMessage[] = [];
  const transport: DatagramTransport = {
    send: (d, p) => udp.send(d, p),
    onMessage: (listener) =>
      udp.onMessage((data, peer) => {
        const m = decodeMessage(data);
        if (m) received.push(m);
        listener(data, peer);
      }),
    address: () => udp.address(),
    close: () => udp.close(),
  };
  const endpoint = createCoapEndpoint(transport);
  closers.push(() => endpoint.close());
  return { endpoint, received, port: udp.address().port };
}

function pattern(length: number): string {
  let s = '';
  for (let i = 0; s.length < length; i++) s += `${i.toString(36)}-`;
  return s.slice(0, length);
}

describe('libcoap coap-client against our endpoint', () => {
  test('GET with path and query', async () => {
    const { endpoint, port } = await recordingEndpoint();
    endpoint.serve((req) => ({ code: '2.05', contentFormat: 0, payload: te.encode(`path=${req.path.join('/')} query=${req.query.join('&')}`) }));
    const { stdout } = await coapClient(['-B', '5', `coap://127.0.0.1:${port}/3/0/1?a=1&b=2`]);
    expect(stdout.trim()).toBe('path=3/0/1 query=a=1&b=2');
  });

  test('PUT with a large payload, -b 64 (Block1, new token per block) reaches the handler whole', async () => {
    const { endpoint, port, received } = await recordingEndpoint();
    const body = pattern(5000);
    const file = join(tmp, 'put.txt');
    writeFileSync(file, body);
    let got: IncomingRequest | undefined;
    endpoint.serve((req) => ((got = req), { code: '2.04' }));
    const { stdout, stderr } = await coapClient(['-B', '10', '-m', 'put', '-b', '64', '-t', '0', '-f', file, `coap://127.0.0.1:${port}/5/0/0`]);
    expect(stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
    void stdout;
    expect(got).toBeDefined();
    expect(got!.method).toBe('PUT');
    expect(got!.path).toEqual(['5', '0', '0']);
    expect(got!.contentFormat).toBe(0);
    expect(td.decode(got!.payload)).toBe(body);
    const blocks = received.filter((m) => m.options.some((o) => o.number === OptionNumber.Block1));
    expect(blocks.length).toBe(Math.ceil(5000 / 64));
    // libcoap changes the token per block: the layer must not key reassembly by token.
    expect(new Set(blocks.map((m) => Buffer.from(m.token).toString('hex'))).size).toBeGreaterThan(1);
  });

  test('GET of a large resource is served block by block (Block2)', async () => {
    const { endpoint, port, received } = await recordingEndpoint();
    const body = pattern(7000);
    let calls = 0;
    endpoint.serve(() => (calls++, { code: '2.05', contentFormat: 0, payload: te.encode(body) }));
    const { stdout } = await coapClient(['-B', '10', `coap://127.0.0.1:${port}/big`]);
    expect(stdout.trim()).toBe(body);
    expect(received.length).toBe(Math.ceil(7000 / 1024));
    expect(calls).toBe(1);
  });

  test('GET with -b 64 negotiates 64-byte blocks', async () => {
    const { endpoint, port, received } = await recordingEndpoint();
    const body = pattern(1000);
    endpoint.serve(() => ({ code: '2.05', payload: te.encode(body) }));
    const { stdout } = await coapClient(['-B', '10', '-b', '64', `coap://127.0.0.1:${port}/big`]);
    expect(stdout.trim()).toBe(body);
    expect(received.length).toBe(Math.ceil(1000 / 64));
  });

  test('a slow handler: empty ACK, then a separate CON response that coap-client accepts', async () => {
    const udp = await createUdpTransport({ address: '127.0.0.1' });
    const sent: CoapMessage[] = [];
    const endpoint = createCoapEndpoint(
      {
        send: (d, p) => (sent.push(decodeMessage(d)!), udp.send(d, p)),
        onMessage: (l) => udp.onMessage(l),
        address: () => udp.address(),
        close: () => udp.close(),
      },
      { separateResponseDelay: 50 },
    );
    closers.push(() => endpoint.close());
    endpoint.serve(() => new Promise((resolve) => setTimeout(() => resolve({ code: '2.05', payload: te.encode('slow but sure') }), 300)));
    const { stdout } = await coapClient(['-B', '10', `coap://127.0.0.1:${udp.address().port}/slow`]);
    expect(stdout.trim()).toBe('slow but sure');
    expect(sent.map((m) => `${m.type} ${m.code}`)).toEqual(['ACK 0.00', 'CON 2.05']);
  });

  test('observe (-s): notifications from notify() reach the observer, CON ones are acknowledged', async () => {
    const { endpoint, port } = await recordingEndpoint();
    let registration: IncomingRequest | undefined;
    let registered!: () => void;
    const isRegistered = new Promise<void>((r) => (registered = r));
    endpoint.serve((req) => {
      if (req.observe === 0) {
        registration = req;
        registered();
        return { code: '2.05', observe: 1, contentFormat: 0, payload: te.encode('value-1') };
      }
      return { code: '2.05', contentFormat: 0, payload: te.encode('plain') };
    });
    const run = coapClient(['-B', '10', '-s', '3', '-w', `coap://127.0.0.1:${port}/3303/0/5700`]);
    await isRegistered;
    // Let the registration's piggybacked response go out first: over UDP a notification could overtake it.
    await new Promise((r) => setImmediate(r));
    const peer = registration!.peer;
    const outcomes = [
      await endpoint.notify(peer, registration!.token, { code: '2.05', observe: 2, contentFormat: 0, payload: te.encode('value-2') }, true),
      await endpoint.notify(peer, registration!.token, { code: '2.05', observe: 3, contentFormat: 0, payload: te.encode('value-3') }, false),
      await endpoint.notify(peer, registration!.token, { code: '2.05', observe: 4, contentFormat: 0, payload: te.encode('value-4') }, true),
    ];
    const { stdout } = await run;
    expect(outcomes).toEqual(['acked', 'sent', 'acked']);
    expect(stdout.split('\n').filter(Boolean)).toEqual(['value-1', 'value-2', 'value-3', 'value-4']);
  });

  test('a notification after the observer is gone is answered with RST or times out, never acked', async () => {
    const { endpoint, port } = await recordingEndpoint();
    let registration: IncomingRequest | undefined;
    endpoint.serve((req) => ((registration = req), { code: '2.05', observe: 1, payload: te.encode('v') }));
    await coapClient(['-B', '3', '-s', '1', `coap://127.0.0.1:${port}/1`]);
    expect(registration).toBeDefined();
    // The client process has exited; its port is closed, so nobody acknowledges. Short timers keep the test fast.
    const fast = await createUdpEndpoint({ address: '127.0.0.1', ackTimeout: 20, maxRetransmit: 1 });
    closers.push(() => fast.close());
    const outcome = await fast.notify(registration!.peer, registration!.token, { code: '2.05', observe: 2 }, true);
    expect(['reset', 'timeout']).toContain(outcome);
  });
});

describe('our endpoint against itself', () => {
  test('IPv6 on ::1: request, Block1 upload and Block2 download', async () => {
    const a = await createUdpEndpoint({ address: '::1' });
    const b = await createUdpEndpoint({ address: '::1', blockSize: 256 });
    closers.push(() => a.close(), () => b.close());
    b.serve((req) => ({ code: '2.05', payload: Uint8Array.from([...req.payload, ...req.payload]) }));
    const body = te.encode(pattern(3000));
    const res = await a.request(b.address(), { method: 'POST', path: ['echo'], payload: body });
    expect(b.address().address).toBe('::1');
    expect(res.payload).toHaveLength(6000);
    expect(td.decode(res.payload)).toBe(pattern(3000) + pattern(3000));
  });
});

test("coap://: a handler's Lwm2mError answers its own code, as over coap+tcp://", async () => {
  const server = await createUdpEndpoint({ address: '127.0.0.1' });
  const client = await createUdpEndpoint({ address: '127.0.0.1' });
  closers.push(() => client.close(), () => server.close());
  server.serve(() => {
    throw new NotFoundError('no such instance', { objectId: 3, instanceId: 7 });
  });
  const res = await client.request(server.address(), { method: 'GET', path: ['3', '7'] });
  expect(res.code).toBe('4.04');
  expect(td.decode(res.payload)).toBe('/3/7: no such instance');
});

test('a udp6 endpoint (IPv4-mapped 127.0.0.1) talks to an IPv4 peer given as 127.0.0.1', async () => {
  const v4 = await createUdpEndpoint({ address: '127.0.0.1' });
  const dual = await createUdpEndpoint({ type: 'udp6', address: '::ffff:127.0.0.1', ackTimeout: 200, maxRetransmit: 2 });
  closers.push(() => v4.close(), () => dual.close());
  v4.serve((req) => ({ code: '2.05', payload: te.encode(req.peer.address) }));
  const res = await dual.request({ address: '127.0.0.1', port: v4.address().port }, { method: 'GET' });
  expect(res.code).toBe('2.05');
});

describe('node-coap as a peer', () => {
  function nodeCoapRequest(params: coap.CoapRequestParams, payload?: Buffer): Promise<coap.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = coap.request(params);
      req.on('response', resolve);
      req.on('error', reject);
      req.on('timeout', reject);
      if (payload) {
        // node-coap only goes block-wise when told the block size (SZX) through a Block1 option.
        if (payload.length > 1024) req.setOption('Block1', Buffer.of(6));
        req.write(payload);
      }
      req.end();
    });
  }

  test('node-coap client: GET and a large POST (Block1) to our endpoint', async () => {
    const { endpoint, port } = await recordingEndpoint();
    endpoint.serve((req) => ({ code: req.method === 'GET' ? '2.05' : '2.04', payload: te.encode(`${req.method} ${req.path.join('/')} ${req.payload.length}`) }));
    const agent = new coap.Agent({ type: 'udp4' });
    closers.push(() => {
      agent.close();
    });
    const res = await nodeCoapRequest({ hostname: '127.0.0.1', port, pathname: '/3/0', method: 'GET', agent });
    expect(res.code).toBe('2.05');
    expect(res.payload.toString()).toBe('GET 3/0 0');
    const big = Buffer.from(pattern(3000));
    const res2 = await nodeCoapRequest({ hostname: '127.0.0.1', port, pathname: '/rd', method: 'POST', agent }, big);
    expect(res2.code).toBe('2.04');
    expect(res2.payload.toString()).toBe('POST rd 3000');
  });

  test('node-coap client: a large GET response is reassembled by node-coap (Block2)', async () => {
    const { endpoint, port } = await recordingEndpoint();
    const body = pattern(4000);
    endpoint.serve(() => ({ code: '2.05', payload: te.encode(body) }));
    const agent = new coap.Agent({ type: 'udp4' });
    closers.push(() => {
      agent.close();
    });
    const res = await nodeCoapRequest({ hostname: '127.0.0.1', port, pathname: '/big', agent });
    expect(res.payload.toString()).toBe(body);
  });

  test('node-coap server: request() with small, large (Block2) and uploaded (Block1) bodies', async () => {
    const server = coap.createServer({ type: 'udp4' });
    const uploads: string[] = [];
    server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
      if (req.method === 'PUT') {
        uploads.push(req.payload.toString());
        res.code = '2.04';
        res.end();
      } else if (req.url === '/big') {
        res.end(pattern(5000));
      } else {
        res.setOption('Content-Format', 'text/plain');
        res.end(`hello ${req.url}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server as unknown as { _sock: dgram.Socket })._sock.address().port;
    const ours = await createUdpEndpoint({ address: '127.0.0.1' });
    closers.push(() => ours.close());
    const peer: Peer = { address: '127.0.0.1', port };

    const small = await ours.request(peer, { method: 'GET', path: ['a', 'b'] });
    expect(small.code).toBe('2.05');
    expect(small.contentFormat).toBe(0);
    expect(td.decode(small.payload)).toBe('hello /a/b');

    const big = await ours.request(peer, { method: 'GET', path: ['big'] });
    expect(td.decode(big.payload)).toBe(pattern(5000));

    // node-coap answers late requests with an empty ACK and a separate response.
    server.removeAllListeners('request');
    server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
      if (req.method === 'PUT') {
        uploads.push(req.payload.toString());
        res.code = '2.04';
        res.end();
      } else setTimeout(() => res.end('late'), 300);
    });
    const late = await ours.request(peer, { method: 'GET', path: ['late'] });
    expect(td.decode(late.payload)).toBe('late');

    const upload = pattern(3000);
    const put = await ours.request(peer, { method: 'PUT', path: ['up'], payload: te.encode(upload) });
    expect(put.code).toBe('2.04');
    expect(uploads).toEqual([upload]);
  });
});

describe('raw datagrams', () => {
  async function rawSocket(): Promise<{ send(data: Uint8Array, port: number): void; next(): Promise<Uint8Array> }> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => socket.close(() => r())));
    const queue: Uint8Array[] = [];
    const waiters: Array<(d: Uint8Array) => void> = [];
    socket.on('message', (msg) => {
      const w = waiters.shift();
      if (w) w(msg);
      else queue.push(msg);
    });
    return {
      send: (data, port) => socket.send(data, port, '127.0.0.1'),
      next: () => {
        const d = queue.shift();
        return d ? Promise.resolve(d) : new Promise((r) => waiters.push(r));
      },
    };
  }

  test('a CoAP ping (empty CON) is answered with RST', async () => {
    const ep = await createUdpEndpoint({ address: '127.0.0.1' });
    closers.push(() => ep.close());
    const raw = await rawSocket();
    raw.send(Uint8Array.of(0x40, 0x00, 0xbe, 0xef), ep.address().port);
    expect(Array.from(await raw.next())).toEqual([0x70, 0x00, 0xbe, 0xef]);
  });

  test('hostile input: random and mutated datagrams are dropped or answered, and the endpoint keeps serving', async () => {
    const errors: unknown[] = [];
    const ep = await createUdpEndpoint({ address: '127.0.0.1', onError: (e) => errors.push(e) });
    closers.push(() => ep.close());
    const seen: IncomingRequest[] = [];
    ep.serve((req) => (seen.push(req), { code: '2.05', payload: te.encode('ok') }));
    const raw = await rawSocket();
    const port = ep.address().port;
    // A deterministic generator, so a failure can be replayed.
    let seed = 0x12345678;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const valid = encodeMessage({
      type: 'CON',
      code: '0.01',
      messageId: 1,
      token: Uint8Array.of(1, 2, 3, 4),
      options: [
        { number: OptionNumber.UriPath, value: te.encode('3') },
        { number: OptionNumber.UriPath, value: te.encode('0') },
        { number: OptionNumber.Block2, value: Uint8Array.of(0x06) },
        { number: OptionNumber.UriQuery, value: te.encode('x'.repeat(300)) },
      ],
      payload: te.encode('payload'),
    });
    let pings = 0;
    for (let i = 0; i < 2000; i++) {
      let d: Uint8Array;
      if (i % 2 === 0) {
        d = Uint8Array.from({ length: rand(40) }, () => rand(256));
        if (i % 4 === 0 && d.length > 0) d[0] = 0x40 | (d[0]! & 0x3f); // version 1: gets further into the parser
      } else {
        d = Uint8Array.from(valid);
        for (let k = 0, n = 1 + rand(4); k < n; k++) d[rand(d.length)] = rand(256);
        if (rand(3) === 0) d = d.subarray(0, rand(d.length));
      }
      raw.send(d, port);
      if (i % 100 === 99) {
        // A ping after each batch: the endpoint is alive, and the socket buffers never overflow.
        const id = 0xf000 + pings++;
        raw.send(Uint8Array.of(0x40, 0x00, id >> 8, id & 0xff), port);
        for (;;) {
          const m = decodeMessage(await raw.next());
          if (m && m.type === 'RST' && m.messageId === id) break;
        }
      }
    }
    expect(pings).toBe(20);
    // A well-formed request after the storm is still answered.
    const probe = await createUdpEndpoint({ address: '127.0.0.1' });
    closers.push(() => probe.close());
    const res = await probe.request(ep.address(), { method: 'GET', path: ['probe'] });
    expect(res.code).toBe('2.05');
    expect(td.decode(res.payload)).toBe('ok');
    for (const req of seen) {
      expect(Array.isArray(req.path)).toBe(true);
      expect(req.token.length).toBeLessThanOrEqual(8);
    }
    expect(errors).toEqual([]);
  });
});
