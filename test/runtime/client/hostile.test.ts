// Hostile input: random and mutated requests, to the router directly and as datagrams to the client's socket, must not crash or wedge it.
import { createSocket, type Socket } from 'node:dgram';
import {
  createUdpEndpoint, decodeMessage, encodeMessage, encodeUint, OptionNumber, type CoapEndpoint, type CoapMessage,
} from '../../../runtime/coap/index.js';
import type { CoapMethod, IncomingRequest } from '../../../runtime/coap/types.js';
import { ContentFormat, encodeRecords } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { ObjectRegistry } from '../../../runtime/client/registry.js';
import { RequestRouter } from '../../../runtime/client/router.js';
import { AttributeStore } from '../../../runtime/notify/index.js';
import { ConfigDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';

/** mulberry32: a seeded PRNG, so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const utf8 = new TextEncoder();
const METHODS: CoapMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'];
const FORMATS = [undefined, 0, 40, 42, 60, 110, 112, 11542, 11543, 11544, 9999];
const CODE = /^[245]\.\d\d$/;

function populate(registry: ObjectRegistry): void {
  registry.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 60 }));
  registry.addInstance(new TestDevice());
  registry.addObject(ConfigDef, { create: (id) => new TestConfig(id) });
  registry.addInstance(new TestConfig(0, { tags: ['x'] }));
}

/** Valid payloads of several shapes, to mutate. */
function seeds(registry: ObjectRegistry): Uint8Array[] {
  const lookup = registry.lookup;
  const inst = [
    { path: { objectId: 10250, instanceId: 0, resourceId: 0 }, value: 'n' },
    { path: { objectId: 10250, instanceId: 0, resourceId: 1 }, value: 3 },
    { path: { objectId: 10250, instanceId: 0, resourceId: 2, resourceInstanceId: 0 }, value: 't' },
  ];
  const out = [utf8.encode('5'), utf8.encode("0='a',1"), encodeRecords(ContentFormat.TLV, { objectId: 10250, instanceId: 0 }, inst, lookup)];
  for (const f of [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR]) {
    try {
      out.push(encodeRecords(f, { objectId: 10250, instanceId: 0 }, inst, lookup));
    } catch {
      // a format that has not landed yet is simply not a seed
    }
  }
  return out;
}

function mutate(rand: () => number, data: Uint8Array): Uint8Array {
  const b = Uint8Array.from(data);
  switch (Math.floor(rand() * 4)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + rand() * 4 && b.length; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      return b;
    case 1: // truncate
      return b.slice(0, Math.floor(rand() * b.length));
    case 2: // random bytes
      return Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
    default: // duplicate a slice
      return Uint8Array.from([...b, ...b.slice(Math.floor(rand() * b.length))]);
  }
}

describe('hostile input', () => {
  it('the router answers every random or mutated request with a CoAP error or success code, never a throw', async () => {
    const registry = new ObjectRegistry();
    populate(registry);
    const internal: Error[] = [];
    const router = new RequestRouter({
      registry, attributes: new AttributeStore(), preferredFormat: ContentFormat.TLV, onInternalError: (e) => internal.push(e),
    });
    const rand = prng(0xc0ffee);
    const payloads = seeds(registry);
    const paths = ['', '1', '1/0', '1/0/1', '3/0', '3/0/4', '3/0/6/0', '10250', '10250/0', '10250/0/2', '10250/0/2/0', '10250/9', 'rd', '99999', 'a/b'];
    for (let i = 0; i < 4000; i++) {
      const path = rand() < 0.9 ? paths[Math.floor(rand() * paths.length)]! : String(Math.floor(rand() * 70000));
      const seed = payloads[Math.floor(rand() * payloads.length)]!;
      const payload = rand() < 0.2 ? seed : rand() < 0.1 ? new Uint8Array(0) : mutate(rand, seed);
      const cf = FORMATS[Math.floor(rand() * FORMATS.length)];
      const accept = rand() < 0.3 ? FORMATS[Math.floor(rand() * FORMATS.length)] : undefined;
      const req: IncomingRequest = {
        peer: { address: '127.0.0.1', port: 1 }, method: METHODS[Math.floor(rand() * METHODS.length)]!,
        path: path.split('/').filter((s) => s !== ''),
        query: rand() < 0.1 ? ['pmin=' + Math.floor(rand() * 10), rand() < 0.5 ? 'gt=x' : 'pmax=3'] : [],
        token: new Uint8Array([i & 0xff]), confirmable: true, payload, options: [],
        ...(cf !== undefined ? { contentFormat: cf } : {}),
        ...(accept !== undefined ? { accept } : {}),
        ...(rand() < 0.05 ? { observe: Math.floor(rand() * 3) } : {}),
      };
      const { response } = await router.handle(req);
      expect([i, CODE.test(response.code)]).toEqual([i, true]);
    }
    // Hooks in the test objects only throw on purpose-made values; random input may hit them, nothing else may.
    for (const e of internal) expect(['hook exploded', 'apply exploded']).toContain(e.message);
    expect(internal.length).toBeLessThan(4000);
  });

  describe('over UDP', () => {
    let endpoint: CoapEndpoint;
    let client: Lwm2mClient;
    let fakeServer: Socket;
    let stranger: Socket;

    beforeEach(async () => {
      fakeServer = createSocket('udp4');
      stranger = createSocket('udp4');
      await new Promise<void>((r) => fakeServer.bind(0, '127.0.0.1', r));
      await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
      endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ackTimeout: 100, maxRetransmit: 0 });
      // The "server" is a raw socket that never answers the Register: the client retries slowly and keeps serving it.
      client = new Lwm2mClient({
        endpointName: 'fuzz', transport: endpoint, server: { address: '127.0.0.1', port: fakeServer.address().port },
        retry: { initialDelayMs: 60_000 },
      });
      const registry = client.registry;
      populate(registry);
    });

    afterEach(async () => {
      await client.stop();
      await endpoint.close();
      await new Promise<void>((r) => fakeServer.close(() => r()));
      await new Promise<void>((r) => stranger.close(() => r()));
    });

    /** Sends a valid GET /3/0/0 from the fake server until its answer comes back. */
    async function probe(): Promise<CoapMessage> {
      const token = Uint8Array.from([0xaa, 0x55, 0x01]);
      const msg = encodeMessage({
        type: 'CON', code: '0.01', messageId: 0xbeef, token, payload: new Uint8Array(0),
        options: ['3', '0', '0'].map((s) => ({ number: OptionNumber.UriPath, value: utf8.encode(s) })),
      });
      return new Promise<CoapMessage>((resolve) => {
        const onMessage = (data: Buffer) => {
          const m = decodeMessage(data);
          if (m && m.messageId === 0xbeef && m.code.startsWith('2.')) {
            fakeServer.off('message', onMessage);
            clearInterval(timer);
            resolve(m);
          }
        };
        fakeServer.on('message', onMessage);
        const send = () => fakeServer.send(msg, endpoint.address().port, '127.0.0.1');
        const timer = setInterval(send, 50);
        send();
      });
    }

    it('keeps serving after thousands of random and mutated datagrams from its server and a stranger', async () => {
      await client.start();
      const rand = prng(42);
      const payloads = seeds(client.registry);
      const bases: Uint8Array[] = [];
      for (const [code, path, cf, payload] of [
        ['0.01', ['3', '0'], undefined, new Uint8Array(0)],
        ['0.03', ['10250', '0'], ContentFormat.TLV, payloads[2]!],
        ['0.02', ['10250'], ContentFormat.TLV, payloads[2]!],
        ['0.02', ['3', '0', '4'], undefined, payloads[1]!],
        ['0.03', ['10250', '0', '1'], 0, payloads[0]!],
      ] as const) {
        bases.push(encodeMessage({
          type: 'CON', code, messageId: 1, token: Uint8Array.from([1, 2, 3, 4]), payload,
          options: [
            ...path.map((s) => ({ number: OptionNumber.UriPath, value: utf8.encode(s) })),
            ...(cf !== undefined ? [{ number: OptionNumber.ContentFormat, value: encodeUint(cf) }] : []),
          ],
        }));
      }
      const port = endpoint.address().port;
      for (let i = 0; i < 3000; i++) {
        const base = bases[Math.floor(rand() * bases.length)]!;
        const data = rand() < 0.15 ? base : mutate(rand, base);
        (rand() < 0.8 ? fakeServer : stranger).send(data, port, '127.0.0.1');
        // yield now and then so the socket buffer does not simply overflow
        if (i % 100 === 0) await new Promise<void>((r) => setImmediate(r));
      }
      const answer = await probe();
      expect(answer.code).toBe('2.05');
      expect(new TextDecoder().decode(answer.payload)).toBe('ACME');
      expect(client.registry.instance(3, 0)).toBeDefined();
    });
  });
});
