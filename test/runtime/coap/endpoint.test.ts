// Unit tests of the message layer on an in-memory network with a manual clock: reliability, dedup, separate
// responses, notifications, block-wise transfers and their limits, error mapping.
import { NotFoundError } from '../../../runtime/errors.js';
import {
  CoapBlockwiseError,
  CoapClosedError,
  CoapResetError,
  CoapTimeoutError,
  ManualClock,
  MemoryNetwork,
  OptionNumber,
  createCoapEndpoint,
  decodeBlock,
  decodeMessage,
  encodeBlock,
  encodeMessage,
  encodeUint,
  transmissionParameters,
  type CoapEndpointOptions,
  type CoapMessage,
  type DatagramTransport,
  type IncomingRequest,
  type Peer,
  type RawOption,
} from '../../../runtime/coap/index.js';

const te = new TextEncoder();
const td = new TextDecoder();
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(serverOptions: CoapEndpointOptions = {}, clientOptions: CoapEndpointOptions = {}) {
  const clock = new ManualClock();
  const net = new MemoryNetwork();
  const server = createCoapEndpoint(net.createTransport('10.0.0.1', 5683), { clock, random: () => 0, ...serverOptions });
  const client = createCoapEndpoint(net.createTransport('10.0.0.2', 5683), { clock, random: () => 0, ...clientOptions });
  return { clock, net, server, client, serverPeer: server.address(), clientPeer: client.address() };
}

/** A peer that speaks raw CoAP messages, to see exactly what the endpoint sends. */
function rawPeer(net: MemoryNetwork, address = '10.0.0.9') {
  const transport: DatagramTransport = net.createTransport(address, 5683);
  const inbox: CoapMessage[] = [];
  transport.onMessage((data) => {
    const m = decodeMessage(data);
    if (m) inbox.push(m);
  });
  return {
    transport,
    inbox,
    send(to: Peer, m: Partial<CoapMessage> & { code: string; messageId: number }): void {
      void transport.send(
        encodeMessage({ type: 'CON', token: new Uint8Array([1, 2]), options: [], payload: new Uint8Array(0), ...m }),
        to,
      );
    },
  };
}

function uriPath(...segments: string[]): RawOption[] {
  return segments.map((s) => ({ number: OptionNumber.UriPath, value: te.encode(s) }));
}
function opt(m: CoapMessage, n: number): Uint8Array | undefined {
  return m.options.find((o) => o.number === n)?.value;
}

describe('transmission parameters', () => {
  test('RFC 7252 defaults and derived values', () => {
    const p = transmissionParameters();
    expect(p).toMatchObject({ ackTimeout: 2000, ackRandomFactor: 1.5, maxRetransmit: 4 });
    expect(p.maxTransmitSpan).toBe(45_000);
    expect(p.maxTransmitWait).toBe(93_000);
    expect(p.exchangeLifetime).toBe(247_000);
    expect(p.nonLifetime).toBe(145_000);
  });
});

describe('request and serve', () => {
  test('piggybacked response with options and payload both ways', async () => {
    const { server, client, serverPeer } = setup();
    let seen: IncomingRequest | undefined;
    server.serve((req) => {
      seen = req;
      return { code: '2.04', contentFormat: 42, payload: te.encode('done'), locationPath: ['rd', 'x1'], options: [{ number: 2048, value: te.encode('e') }] };
    });
    const res = await client.request(serverPeer, {
      method: 'POST',
      path: ['rd'],
      query: ['ep=dev1', 'lt=300'],
      contentFormat: 40,
      accept: 11542,
      payload: te.encode('</1/0>'),
      options: [{ number: 2050, value: te.encode('x') }],
    });
    expect(seen).toMatchObject({ method: 'POST', path: ['rd'], query: ['ep=dev1', 'lt=300'], contentFormat: 40, accept: 11542, confirmable: true });
    expect(td.decode(seen!.payload)).toBe('</1/0>');
    expect(seen!.options).toEqual([{ number: 2050, value: te.encode('x') }]);
    expect(res.code).toBe('2.04');
    expect(res.contentFormat).toBe(42);
    expect(res.locationPath).toEqual(['rd', 'x1']);
    expect(td.decode(res.payload)).toBe('done');
    expect(res.options.map((o) => o.number)).toEqual([2048]);
  });

  test('NON request gets a NON response', async () => {
    const { server, net, serverPeer } = setup();
    server.serve((req) => ({ code: '2.05', payload: te.encode(String(req.confirmable)) }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { type: 'NON', code: '0.01', messageId: 7 });
    await tick();
    expect(raw.inbox).toHaveLength(1);
    expect(raw.inbox[0]).toMatchObject({ type: 'NON', code: '2.05' });
    expect(td.decode(raw.inbox[0]!.payload)).toBe('false');
  });

  test('a throwing handler answers 5.00, an Lwm2mError its own code, and the endpoint keeps serving', async () => {
    const errors: unknown[] = [];
    const { server, client, serverPeer } = setup({ onError: (e) => errors.push(e) });
    server.serve((req) => {
      if (req.path[0] === 'boom') throw new Error('internal detail');
      if (req.path[0] === 'missing') throw new NotFoundError('no such instance', { objectId: 3, instanceId: 9 });
      return { code: '2.05' };
    });
    const boom = await client.request(serverPeer, { method: 'GET', path: ['boom'] });
    expect(boom.code).toBe('5.00');
    expect(boom.payload.length).toBe(0);
    expect(errors).toHaveLength(1);
    const missing = await client.request(serverPeer, { method: 'GET', path: ['missing'] });
    expect(missing.code).toBe('4.04');
    expect(td.decode(missing.payload)).toContain('/3/9');
    expect((await client.request(serverPeer, { method: 'GET', path: ['ok'] })).code).toBe('2.05');
  });

  test('unknown critical option answers 4.02, unknown elective passes to the handler', async () => {
    const { server, client, serverPeer } = setup();
    server.serve(() => ({ code: '2.05' }));
    const bad = await client.request(serverPeer, { method: 'GET', path: ['x'], options: [{ number: 2049, value: te.encode('c') }] });
    expect(bad.code).toBe('4.02');
    const ok = await client.request(serverPeer, { method: 'GET', path: ['x'], options: [{ number: 2048, value: te.encode('e') }] });
    expect(ok.code).toBe('2.05');
  });

  test('knownOptions lets the handler take a critical option', async () => {
    const { server, client, serverPeer } = setup({ knownOptions: [2049] });
    server.serve((req) => ({ code: '2.05', payload: req.options[0]!.value }));
    const res = await client.request(serverPeer, { method: 'GET', options: [{ number: 2049, value: te.encode('c') }] });
    expect(res.code).toBe('2.05');
    expect(td.decode(res.payload)).toBe('c');
  });

  test('CoAP ping (empty CON) is answered with RST', async () => {
    const { net, serverPeer } = setup();
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.00', messageId: 0x1234, token: new Uint8Array(0) });
    await tick();
    expect(raw.inbox).toEqual([expect.objectContaining({ type: 'RST', code: '0.00', messageId: 0x1234 })]);
  });

  test('a CON response matching no request is answered with RST', async () => {
    const { net, serverPeer } = setup();
    const raw = rawPeer(net);
    raw.send(serverPeer, { type: 'CON', code: '2.05', messageId: 99 });
    await tick();
    expect(raw.inbox).toEqual([expect.objectContaining({ type: 'RST', messageId: 99 })]);
  });

  test('message ids are consecutive per endpoint and tokens are 8 random bytes', async () => {
    const { server, client, serverPeer, net } = setup();
    server.serve(() => ({ code: '2.05' }));
    await client.request(serverPeer, { method: 'GET' });
    await client.request(serverPeer, { method: 'GET' });
    const sent = net.log.filter((e) => e.from.address === '10.0.0.2').map((e) => decodeMessage(e.data)!);
    expect(sent[1]!.messageId).toBe((sent[0]!.messageId + 1) & 0xffff);
    expect(sent[0]!.token).toHaveLength(8);
    expect(Buffer.from(sent[0]!.token).equals(Buffer.from(sent[1]!.token))).toBe(false);
  });
});

describe('retransmission', () => {
  test('CON backs off exponentially, then request() rejects with CoapTimeoutError', async () => {
    const { clock, net, client, serverPeer } = setup();
    const times: number[] = [];
    net.filter = (_d, from) => {
      if (from.address === '10.0.0.2') times.push(clock.now());
      return false;
    };
    const p = client.request(serverPeer, { method: 'GET', path: ['x'] });
    let error: unknown;
    p.catch((e: unknown) => (error = e));
    clock.advance(61_999);
    await tick();
    expect(error).toBeUndefined();
    clock.advance(1);
    await tick();
    // random 0: timeouts 2, 4, 8, 16, 32 s after sends at 0, 2, 6, 14, 30 s.
    expect(times).toEqual([0, 2000, 6000, 14000, 30000]);
    expect(error).toBeInstanceOf(CoapTimeoutError);
    expect((error as CoapTimeoutError).transmissions).toBe(5);
  });

  test('the random factor stretches the first timeout up to ACK_TIMEOUT * ACK_RANDOM_FACTOR: gives up at MAX_TRANSMIT_WAIT', async () => {
    const { clock, net, client, serverPeer } = setup({}, { random: () => 0.999999999 });
    net.filter = () => false;
    let error: unknown;
    client.request(serverPeer, { method: 'GET' }).catch((e: unknown) => (error = e));
    clock.advance(92_990);
    await tick();
    expect(error).toBeUndefined();
    clock.advance(10);
    await tick();
    expect(error).toBeInstanceOf(CoapTimeoutError);
  });

  test('transmission parameters are per endpoint', async () => {
    const { clock, net, serverPeer } = setup();
    const fast = createCoapEndpoint(net.createTransport('10.0.0.3', 1), { clock, random: () => 0, ackTimeout: 100, maxRetransmit: 2 });
    const times: number[] = [];
    net.filter = (_d, from) => {
      if (from.address === '10.0.0.3') times.push(clock.now());
      return false;
    };
    let error: unknown;
    fast.request(serverPeer, { method: 'GET' }).catch((e: unknown) => (error = e));
    clock.advance(700);
    await tick();
    expect(times).toEqual([0, 100, 300]);
    expect(error).toBeInstanceOf(CoapTimeoutError);
  });

  test('a lost ACK is recovered by retransmission and the response is replayed, not recomputed', async () => {
    const { clock, net, server, client, serverPeer } = setup();
    let calls = 0;
    server.serve(() => ({ code: '2.05', payload: te.encode(`call ${++calls}`) }));
    let dropped = 0;
    net.filter = (_d, from) => !(from.address === '10.0.0.1' && dropped++ === 0);
    const p = client.request(serverPeer, { method: 'GET' });
    await tick();
    clock.advance(2000);
    await tick();
    const res = await p;
    expect(td.decode(res.payload)).toBe('call 1');
    expect(calls).toBe(1);
  });

  test('a piggybacked ACK carrying a foreign token only acknowledges; the real response may follow separately', async () => {
    const { net, client } = setup();
    const raw = rawPeer(net);
    const p = client.request(raw.transport.address(), { method: 'GET' });
    await tick();
    const req = raw.inbox[0]!;
    raw.send(client.address(), { type: 'ACK', code: '2.05', messageId: req.messageId, token: Uint8Array.of(0xee), payload: te.encode('wrong') });
    await tick();
    raw.send(client.address(), { type: 'CON', code: '2.05', messageId: 4242, token: req.token, payload: te.encode('right') });
    const res = await p;
    expect(td.decode(res.payload)).toBe('right');
    await tick();
    expect(raw.inbox.at(-1)).toMatchObject({ type: 'ACK', code: '0.00', messageId: 4242 });
  });

  test('nstart limits outstanding requests per peer; the rest wait their turn', async () => {
    const { clock, net, server, serverPeer } = setup();
    const client = createCoapEndpoint(net.createTransport('10.0.0.4', 1), { clock, nstart: 1 });
    let active = 0;
    let peak = 0;
    server.serve(
      () =>
        new Promise((resolve) => {
          peak = Math.max(peak, ++active);
          clock.setTimeout(() => (active--, resolve({ code: '2.05' })), 10);
        }),
    );
    const all = Promise.all([1, 2, 3].map(() => client.request(serverPeer, { method: 'GET' })));
    for (let i = 0; i < 6; i++) {
      await tick();
      clock.advance(10);
    }
    expect((await all).map((r) => r.code)).toEqual(['2.05', '2.05', '2.05']);
    expect(peak).toBe(1);
  });

  test('RST to a request rejects with CoapResetError', async () => {
    const { net, client } = setup();
    const raw = rawPeer(net);
    const p = client.request(raw.transport.address(), { method: 'GET' });
    await tick();
    raw.send(client.address(), { type: 'RST', code: '0.00', messageId: raw.inbox[0]!.messageId, token: new Uint8Array(0) });
    await expect(p).rejects.toBeInstanceOf(CoapResetError);
  });

  test('close() rejects outstanding requests with CoapClosedError', async () => {
    const { net, client, serverPeer } = setup();
    net.filter = () => false;
    const p = client.request(serverPeer, { method: 'GET' });
    await client.close();
    await expect(p).rejects.toBeInstanceOf(CoapClosedError);
  });
});

describe('deduplication', () => {
  test('a duplicate CON gets the cached response; the handler runs once', async () => {
    const { server, net, serverPeer } = setup();
    let calls = 0;
    server.serve(() => ({ code: '2.05', payload: te.encode(`n${++calls}`) }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.01', messageId: 500 });
    await tick();
    raw.send(serverPeer, { code: '0.01', messageId: 500 });
    await tick();
    expect(calls).toBe(1);
    expect(raw.inbox).toHaveLength(2);
    expect(raw.inbox.map((m) => td.decode(m.payload))).toEqual(['n1', 'n1']);
    expect(raw.inbox[1]).toMatchObject({ type: 'ACK', messageId: 500 });
  });

  test('a duplicate NON is dropped', async () => {
    const { server, net, serverPeer } = setup();
    let calls = 0;
    server.serve(() => ({ code: '2.05', payload: te.encode(`n${++calls}`) }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { type: 'NON', code: '0.01', messageId: 501 });
    raw.send(serverPeer, { type: 'NON', code: '0.01', messageId: 501 });
    await tick();
    expect(calls).toBe(1);
    expect(raw.inbox).toHaveLength(1);
  });

  test('same message id from another peer is a different message', async () => {
    const { server, net, serverPeer } = setup();
    let calls = 0;
    server.serve(() => ({ code: '2.05' }));
    server.serve(() => (calls++, { code: '2.05' }));
    const a = rawPeer(net, '10.0.0.7');
    const b = rawPeer(net, '10.0.0.8');
    a.send(serverPeer, { code: '0.01', messageId: 9 });
    b.send(serverPeer, { code: '0.01', messageId: 9 });
    await tick();
    expect(calls).toBe(2);
  });

  test('entries expire after EXCHANGE_LIFETIME', async () => {
    const { clock, server, net, serverPeer } = setup();
    let calls = 0;
    server.serve(() => (calls++, { code: '2.05' }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.01', messageId: 3 });
    await tick();
    clock.advance(246_999);
    raw.send(serverPeer, { code: '0.01', messageId: 3 });
    await tick();
    expect(calls).toBe(1);
    clock.advance(1);
    raw.send(serverPeer, { code: '0.01', messageId: 3 });
    await tick();
    expect(calls).toBe(2);
  });

  test('memory is bounded: beyond maxDedupEntries the oldest entries are forgotten', async () => {
    const { server, net, serverPeer } = setup({ maxDedupEntries: 10 });
    let calls = 0;
    server.serve(() => (calls++, { code: '2.05' }));
    const raw = rawPeer(net);
    for (let id = 0; id < 50; id++) raw.send(serverPeer, { code: '0.01', messageId: id });
    await tick();
    expect(calls).toBe(50);
    raw.send(serverPeer, { code: '0.01', messageId: 49 }); // recent: still a duplicate
    raw.send(serverPeer, { code: '0.01', messageId: 0 }); // evicted: processed again
    await tick();
    expect(calls).toBe(51);
  });
});

describe('separate responses', () => {
  test('a slow handler gets an empty ACK first, then a CON response that the requester acknowledges', async () => {
    const { clock, net, server, client, serverPeer } = setup({ separateResponseDelay: 1000 });
    server.serve(() => new Promise((resolve) => clock.setTimeout(() => resolve({ code: '2.05', payload: te.encode('late') }), 1500)));
    const p = client.request(serverPeer, { method: 'GET' });
    await tick();
    clock.advance(1000);
    await tick();
    clock.advance(500);
    await tick();
    const res = await p;
    expect(td.decode(res.payload)).toBe('late');
    const fromServer = net.log.filter((e) => e.from.address === '10.0.0.1').map((e) => decodeMessage(e.data)!);
    expect(fromServer.map((m) => `${m.type} ${m.code}`)).toEqual(['ACK 0.00', 'CON 2.05']);
    const fromClient = net.log.filter((e) => e.from.address === '10.0.0.2').map((e) => decodeMessage(e.data)!);
    expect(fromClient.map((m) => `${m.type} ${m.code}`)).toEqual(['CON 0.01', 'ACK 0.00']);
    expect(fromClient[1]!.messageId).toBe(fromServer[1]!.messageId);
    // The separate response was acknowledged: no retransmission follows.
    clock.advance(100_000);
    await tick();
    expect(net.log.filter((e) => e.from.address === '10.0.0.1')).toHaveLength(2);
  });

  test('a duplicate of the request after the empty ACK gets the empty ACK again', async () => {
    const { clock, net, server, serverPeer } = setup();
    server.serve(() => new Promise((resolve) => clock.setTimeout(() => resolve({ code: '2.05' }), 5000)));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.01', messageId: 77 });
    await tick();
    clock.advance(1000);
    raw.send(serverPeer, { code: '0.01', messageId: 77 });
    await tick();
    expect(raw.inbox.map((m) => `${m.type} ${m.code} ${m.messageId}`)).toEqual(['ACK 0.00 77', 'ACK 0.00 77']);
  });

  test('requester: an empty ACK then no response rejects after separateResponseTimeout', async () => {
    const { clock, net, client } = setup({}, { separateResponseTimeout: 10_000 });
    const raw = rawPeer(net);
    let error: unknown;
    client.request(raw.transport.address(), { method: 'GET' }).catch((e: unknown) => (error = e));
    await tick();
    raw.send(client.address(), { type: 'ACK', code: '0.00', messageId: raw.inbox[0]!.messageId, token: new Uint8Array(0) });
    await tick();
    clock.advance(9_999);
    await tick();
    expect(error).toBeUndefined();
    expect(raw.inbox).toHaveLength(1); // no retransmission after the ACK
    clock.advance(1);
    await tick();
    expect(error).toBeInstanceOf(CoapTimeoutError);
  });
});

describe('notifications', () => {
  test('CON notification resolves acked, carries Observe and the token', async () => {
    const { net, server } = setup();
    const raw = rawPeer(net);
    const token = new Uint8Array([9, 8, 7]);
    const p = server.notify(raw.transport.address(), token, { code: '2.05', observe: 12, payload: te.encode('21.5') }, true);
    await tick();
    const m = raw.inbox[0]!;
    expect(m).toMatchObject({ type: 'CON', code: '2.05' });
    expect(Array.from(m.token)).toEqual([9, 8, 7]);
    expect(Array.from(opt(m, OptionNumber.Observe)!)).toEqual([12]);
    raw.send(server.address(), { type: 'ACK', code: '0.00', messageId: m.messageId, token: new Uint8Array(0) });
    await expect(p).resolves.toBe('acked');
  });

  test('CON notification answered by RST resolves reset', async () => {
    const { net, server } = setup();
    const raw = rawPeer(net);
    const p = server.notify(raw.transport.address(), new Uint8Array([1]), { code: '2.05', observe: 1 }, true);
    await tick();
    raw.send(server.address(), { type: 'RST', code: '0.00', messageId: raw.inbox[0]!.messageId, token: new Uint8Array(0) });
    await expect(p).resolves.toBe('reset');
  });

  test('unacknowledged CON notification is retransmitted, then resolves timeout', async () => {
    const { clock, net, server } = setup();
    const raw = rawPeer(net);
    const p = server.notify(raw.transport.address(), new Uint8Array([1]), { code: '2.05', observe: 1 }, true);
    await tick();
    clock.advance(62_000);
    await tick();
    await expect(p).resolves.toBe('timeout');
    expect(raw.inbox).toHaveLength(5);
    expect(new Set(raw.inbox.map((m) => m.messageId)).size).toBe(1);
  });

  test('a newer CON notification replaces one in flight at its next retransmission; both end as the newer one does', async () => {
    const { clock, net, server } = setup();
    const raw = rawPeer(net);
    const times: number[] = [];
    net.filter = (_d, from) => (from.address === '10.0.0.1' && times.push(clock.now()), true);
    const token = Uint8Array.of(3);
    const first = server.notify(raw.transport.address(), token, { code: '2.05', observe: 1, payload: te.encode('old') }, true);
    await tick();
    clock.advance(500);
    const second = server.notify(raw.transport.address(), token, { code: '2.05', observe: 2, payload: te.encode('new') }, true);
    await tick();
    expect(times).toEqual([0]); // replacing sends nothing extra
    clock.advance(1500);
    await tick();
    expect(times).toEqual([0, 2000]);
    const latest = raw.inbox.at(-1)!;
    expect(td.decode(latest.payload)).toBe('new');
    expect(opt(latest, OptionNumber.Observe)).toEqual(encodeUint(2));
    raw.send(server.address(), { type: 'ACK', code: '0.00', messageId: latest.messageId, token: new Uint8Array(0) });
    await expect(second).resolves.toBe('acked');
    await expect(first).resolves.toBe('acked');
  });

  test('NON notification resolves sent; a RST to it reports the cancelled observation', async () => {
    const resets: Array<[Peer, Uint8Array]> = [];
    const { net, server } = setup({ onNotificationReset: (peer, token) => resets.push([peer, token]) });
    const raw = rawPeer(net);
    await expect(server.notify(raw.transport.address(), new Uint8Array([4, 4]), { code: '2.05', observe: 3 }, false)).resolves.toBe('sent');
    await tick();
    expect(raw.inbox[0]!.type).toBe('NON');
    raw.send(server.address(), { type: 'RST', code: '0.00', messageId: raw.inbox[0]!.messageId, token: new Uint8Array(0) });
    await tick();
    expect(resets).toHaveLength(1);
    expect(Array.from(resets[0]![1])).toEqual([4, 4]);
  });

  test('a large notification goes block-wise; the observer fetches the rest from the observed resource', async () => {
    const { server, net, serverPeer } = setup({ blockSize: 64 });
    server.serve((req) => ({ code: '2.05', ...(req.observe === 0 ? { observe: 1 } : {}), payload: te.encode('small') }));
    const raw = rawPeer(net);
    const token = Uint8Array.of(5, 5, 5);
    raw.send(serverPeer, { code: '0.01', messageId: 1, token, options: [{ number: OptionNumber.Observe, value: encodeUint(0) }, ...uriPath('3', '0')] });
    await tick();
    expect(opt(raw.inbox[0]!, OptionNumber.Observe)).toEqual(encodeUint(1));
    await expect(server.notify(raw.transport.address(), token, { code: '2.05', observe: 2, payload: te.encode('v'.repeat(100) + 'w'.repeat(50)) }, false)).resolves.toBe('sent');
    await tick();
    const n = raw.inbox[1]!;
    expect(n.type).toBe('NON');
    expect(n.payload).toHaveLength(64);
    expect(decodeBlock(opt(n, OptionNumber.Block2)!)).toEqual({ num: 0, more: true, szx: 2 });
    expect(opt(n, OptionNumber.Size2)).toEqual(encodeUint(150));
    expect(opt(n, OptionNumber.Observe)).toEqual(encodeUint(2));
    // The resource changes meanwhile; the rest of the notified body still comes from the cache.
    server.serve(() => ({ code: '2.05', payload: te.encode('changed') }));
    const block2 = (num: number): RawOption => ({ number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx: 2 }) });
    raw.send(serverPeer, { code: '0.01', messageId: 2, token: Uint8Array.of(6), options: [...uriPath('3', '0'), block2(1)] });
    raw.send(serverPeer, { code: '0.01', messageId: 3, token: Uint8Array.of(7), options: [...uriPath('3', '0'), block2(2)] });
    await tick();
    expect(td.decode(raw.inbox[2]!.payload)).toBe('v'.repeat(36) + 'w'.repeat(28));
    expect(opt(raw.inbox[2]!, OptionNumber.Observe)).toBeUndefined();
    expect(td.decode(raw.inbox[3]!.payload)).toBe('w'.repeat(22));
    expect(decodeBlock(opt(raw.inbox[3]!, OptionNumber.Block2)!)).toEqual({ num: 2, more: false, szx: 2 });
  });
});

describe('block-wise transfers between two endpoints', () => {
  test('Block2: a large response is fetched fully before request() resolves', async () => {
    const { server, client, serverPeer, net } = setup({ blockSize: 64 });
    const body = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    let calls = 0;
    server.serve(() => (calls++, { code: '2.05', contentFormat: 42, payload: body }));
    const res = await client.request(serverPeer, { method: 'GET', path: ['5', '0', '0'] });
    expect(Buffer.from(res.payload).equals(Buffer.from(body))).toBe(true);
    expect(res.contentFormat).toBe(42);
    expect(calls).toBe(1); // later blocks come from the cache
    const replies = net.log.filter((e) => e.from.address === '10.0.0.1').map((e) => decodeMessage(e.data)!);
    expect(replies).toHaveLength(16);
    expect(decodeBlock(opt(replies[0]!, OptionNumber.Block2)!)).toEqual({ num: 0, more: true, szx: 2 });
    expect(opt(replies[0]!, OptionNumber.Size2)).toEqual(encodeUint(1000));
    expect(decodeBlock(opt(replies[15]!, OptionNumber.Block2)!)).toEqual({ num: 15, more: false, szx: 2 });
  });

  test('Block2: the requester may ask for smaller blocks', async () => {
    const { server, net, serverPeer } = setup();
    server.serve(() => ({ code: '2.05', payload: new Uint8Array(100).fill(7) }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.01', messageId: 1, options: [{ number: OptionNumber.Block2, value: encodeBlock({ num: 0, more: false, szx: 1 }) }] });
    await tick();
    expect(raw.inbox[0]!.payload).toHaveLength(32);
    expect(decodeBlock(opt(raw.inbox[0]!, OptionNumber.Block2)!)).toEqual({ num: 0, more: true, szx: 1 });
  });

  test('Block1: a large request body goes block by block and reaches the handler whole', async () => {
    const { server, client, serverPeer, net } = setup({}, { blockSize: 128 });
    const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    let got: Uint8Array | undefined;
    let calls = 0;
    server.serve((req) => ((calls++, (got = req.payload)), { code: '2.04' }));
    const res = await client.request(serverPeer, { method: 'PUT', path: ['5', '0', '0'], contentFormat: 42, payload: body });
    expect(res.code).toBe('2.04');
    expect(calls).toBe(1);
    expect(Buffer.from(got!).equals(Buffer.from(body))).toBe(true);
    const replies = net.log.filter((e) => e.from.address === '10.0.0.1').map((e) => decodeMessage(e.data)!);
    expect(replies.map((m) => m.code)).toEqual([...Array(7).fill('2.31'), '2.04']);
  });

  test('Block1: the server may ask for smaller blocks and the sender follows', async () => {
    const { server, client, serverPeer, net } = setup({ blockSize: 32 }, { blockSize: 128 });
    const body = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    let got: Uint8Array | undefined;
    server.serve((req) => ((got = req.payload), { code: '2.04' }));
    await client.request(serverPeer, { method: 'POST', path: ['x'], payload: body });
    expect(Buffer.from(got!).equals(Buffer.from(body))).toBe(true);
    const sent = net.log.filter((e) => e.from.address === '10.0.0.2').map((e) => decodeBlock(opt(decodeMessage(e.data)!, OptionNumber.Block1)!)!);
    expect(sent[0]).toEqual({ num: 0, more: true, szx: 3 });
    expect(sent[1]).toEqual({ num: 4, more: true, szx: 1 });
    expect(sent.at(-1)).toEqual({ num: 9, more: false, szx: 1 });
  });

  test('Block1 + Block2: large request and large response', async () => {
    const { server, client, serverPeer } = setup({ blockSize: 64 }, { blockSize: 64 });
    server.serve((req) => ({ code: '2.05', payload: Uint8Array.from([...req.payload].reverse()) }));
    const body = Uint8Array.from({ length: 500 }, (_, i) => i & 0xff);
    const res = await client.request(serverPeer, { method: 'FETCH', path: ['x'], payload: body });
    expect(Array.from(res.payload)).toEqual(Array.from(body).reverse());
  });

  test('Block2 of a FETCH: a later block asked without the body (as libcoap does) comes from the last FETCH of the resource', async () => {
    const { server, client, serverPeer } = setup({ blockSize: 64 }, { blockSize: 64 });
    let calls = 0;
    server.serve((req) => ((calls++), { code: '2.05', payload: Uint8Array.from({ length: 200 }, (_, i) => (i + req.payload.length) & 0xff) }));
    const first = await client.request(serverPeer, { method: 'FETCH', path: ['x'], payload: new Uint8Array([1, 2, 3]) });
    expect(first.payload.length).toBe(200);
    const bodyless = await client.request(serverPeer, {
      method: 'FETCH', path: ['x'], options: [{ number: OptionNumber.Block2, value: encodeBlock({ num: 1, more: false, szx: 2 }) }],
    });
    expect(Array.from(bodyless.payload)).toEqual(Array.from(first.payload.subarray(64, 128)));
    // Served from the cache: the handler ran for the whole FETCH only.
    expect(calls).toBe(1);
  });

  test('Block2 transfer whose representation changes (ETag) fails with CoapBlockwiseError', async () => {
    const { net, client } = setup();
    const raw = rawPeer(net);
    const p = client.request(raw.transport.address(), { method: 'GET', path: ['a'] });
    p.catch(() => undefined);
    for (let num = 0; num < 2; num++) {
      await tick();
      const req = raw.inbox[num]!;
      if (num === 1) expect(decodeBlock(opt(req, OptionNumber.Block2)!)).toEqual({ num: 1, more: false, szx: 0 });
      raw.send(client.address(), {
        type: 'ACK',
        code: '2.05',
        messageId: req.messageId,
        token: req.token,
        options: [{ number: OptionNumber.ETag, value: Uint8Array.of(num) }, { number: OptionNumber.Block2, value: encodeBlock({ num, more: true, szx: 0 }) }],
        payload: new Uint8Array(16),
      });
    }
    await expect(p).rejects.toBeInstanceOf(CoapBlockwiseError);
  });

  test('serving side: the representation is cached per requester; a new block 0 refreshes it', async () => {
    const { server, net, serverPeer } = setup({ blockSize: 16 });
    let n = 0;
    server.serve(() => ({ code: '2.05', payload: new Uint8Array(40).fill(++n) }));
    const raw = rawPeer(net);
    const get = (messageId: number, num: number) =>
      raw.send(serverPeer, { code: '0.01', messageId, options: [{ number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx: 0 }) }] });
    for (const [id, num] of [[1, 0], [2, 2], [3, 0], [4, 1], [5, 3]] as const) {
      get(id, num);
      await tick();
    }
    expect(raw.inbox.map((m) => `${m.code}:${m.payload[0] ?? '-'}:${m.payload.length}`)).toEqual(['2.05:1:16', '2.05:1:8', '2.05:2:16', '2.05:2:16', '4.02:98:25']);
  });
});

describe('Block1 reassembly on the serving side', () => {
  function block1(num: number, more: boolean, szx: number): RawOption {
    return { number: OptionNumber.Block1, value: encodeBlock({ num, more, szx }) };
  }

  test('keyed by (peer, method, path, query), not by token: a new token per block works', async () => {
    const { server, net, serverPeer } = setup();
    let got = '';
    server.serve((req) => ((got = td.decode(req.payload)), { code: '2.04' }));
    const raw = rawPeer(net);
    const chunk = (c: string) => te.encode(c.repeat(16));
    raw.send(serverPeer, { code: '0.03', messageId: 1, token: Uint8Array.of(1), options: [...uriPath('a'), block1(0, true, 0)], payload: chunk('a') });
    raw.send(serverPeer, { code: '0.03', messageId: 2, token: Uint8Array.of(2), options: [...uriPath('a'), block1(1, true, 0)], payload: chunk('b') });
    raw.send(serverPeer, { code: '0.03', messageId: 3, token: Uint8Array.of(3), options: [...uriPath('a'), block1(2, false, 0)], payload: te.encode('end') });
    await tick();
    expect(raw.inbox.map((m) => m.code)).toEqual(['2.31', '2.31', '2.04']);
    expect(decodeBlock(opt(raw.inbox[2]!, OptionNumber.Block1)!)).toEqual({ num: 2, more: false, szx: 0 });
    expect(got).toBe('a'.repeat(16) + 'b'.repeat(16) + 'end');
  });

  test('a block without its predecessors answers 4.08 Request Entity Incomplete', async () => {
    const { server, net, serverPeer } = setup();
    server.serve(() => ({ code: '2.04' }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.03', messageId: 1, options: [...uriPath('a'), block1(3, true, 0)], payload: new Uint8Array(16) });
    await tick();
    expect(raw.inbox[0]!.code).toBe('4.08');
  });

  test('an abandoned transfer times out: its next block answers 4.08', async () => {
    const { clock, server, net, serverPeer } = setup({ blockTransferTimeout: 30_000 });
    server.serve(() => ({ code: '2.04' }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.03', messageId: 1, options: [...uriPath('a'), block1(0, true, 0)], payload: new Uint8Array(16) });
    await tick();
    clock.advance(30_000);
    raw.send(serverPeer, { code: '0.03', messageId: 2, options: [...uriPath('a'), block1(1, false, 0)], payload: new Uint8Array(3) });
    await tick();
    expect(raw.inbox.map((m) => m.code)).toEqual(['2.31', '4.08']);
  });

  test('Size1 over the limit answers 4.13 with Size1 = the limit', async () => {
    const { server, net, serverPeer } = setup({ maxBodySize: 100 });
    server.serve(() => ({ code: '2.04' }));
    const raw = rawPeer(net);
    raw.send(serverPeer, {
      code: '0.03',
      messageId: 1,
      options: [...uriPath('a'), block1(0, true, 0), { number: OptionNumber.Size1, value: encodeUint(5000) }],
      payload: new Uint8Array(16),
    });
    await tick();
    expect(raw.inbox[0]!.code).toBe('4.13');
    expect(opt(raw.inbox[0]!, OptionNumber.Size1)).toEqual(encodeUint(100));
  });

  test('a body growing past the limit without Size1 answers 4.13 and the transfer is dropped', async () => {
    const { server, net, serverPeer } = setup({ maxBodySize: 40 });
    let calls = 0;
    server.serve(() => (calls++, { code: '2.04' }));
    const raw = rawPeer(net);
    for (let num = 0; num < 4; num++) {
      raw.send(serverPeer, { code: '0.03', messageId: num, options: [...uriPath('a'), block1(num, true, 0)], payload: new Uint8Array(16) });
    }
    await tick();
    expect(raw.inbox.map((m) => m.code)).toEqual(['2.31', '2.31', '4.13', '4.08']);
    expect(calls).toBe(0);
  });

  test('a single-datagram body over the limit answers 4.13 too', async () => {
    const { server, client, serverPeer } = setup({ maxBodySize: 100 });
    let calls = 0;
    server.serve(() => (calls++, { code: '2.04' }));
    const res = await client.request(serverPeer, { method: 'PUT', path: ['a'], payload: new Uint8Array(101) });
    expect(res.code).toBe('4.13');
    expect(calls).toBe(0);
  });

  test('too many concurrent transfers answer 5.03', async () => {
    const { server, net, serverPeer } = setup({ maxBlock1Transfers: 2 });
    server.serve(() => ({ code: '2.04' }));
    const raw = rawPeer(net);
    for (let i = 0; i < 3; i++) {
      raw.send(serverPeer, { code: '0.03', messageId: i, options: [...uriPath(`r${i}`), block1(0, true, 0)], payload: new Uint8Array(16) });
    }
    await tick();
    expect(raw.inbox.map((m) => m.code)).toEqual(['2.31', '2.31', '5.03']);
  });

  test('a block resent with a new message id is taken again without corrupting the body', async () => {
    const { server, net, serverPeer } = setup();
    let got = '';
    server.serve((req) => ((got = td.decode(req.payload)), { code: '2.04' }));
    const raw = rawPeer(net);
    raw.send(serverPeer, { code: '0.02', messageId: 1, options: [...uriPath('a'), block1(0, true, 0)], payload: te.encode('x'.repeat(16)) });
    raw.send(serverPeer, { code: '0.02', messageId: 2, options: [...uriPath('a'), block1(1, true, 0)], payload: te.encode('y'.repeat(16)) });
    raw.send(serverPeer, { code: '0.02', messageId: 3, options: [...uriPath('a'), block1(1, true, 0)], payload: te.encode('y'.repeat(16)) });
    raw.send(serverPeer, { code: '0.02', messageId: 4, options: [...uriPath('a'), block1(2, false, 0)], payload: te.encode('z') });
    await tick();
    expect(got).toBe('x'.repeat(16) + 'y'.repeat(16) + 'z');
  });
});
