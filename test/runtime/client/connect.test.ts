// connect.ts: server URI parsing and checks, connection-string identity, SAS renewal on a manual clock, connectClient over UDP.
import * as net from 'node:net';
import { CoapTimeoutError, ManualClock, MemoryNetwork, StreamCoapEndpoint, createCoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat } from '../../../runtime/codec/index.js';
import {
  ConnectError, Lwm2mClient, checkServerTransport, clientIdentity, connectClient, parseServerUri, renewSasRegistration,
  type ConnectedClient,
} from '../../../runtime/client/index.js';
import { SasTokenSource } from '../../../runtime/auth/index.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { TestDevice, TestServer } from '../../support/objects.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const PSK = Uint8Array.from(Buffer.from('super-secret-psk'));
const PSK_TEXT = Buffer.from(PSK).toString('hex');
const T0 = 1_800_000_000_000;

/** Lets queued microtasks and in-memory deliveries run; no wall-clock time is involved. */
async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((r) => setImmediate(r));
}

function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error('did not throw');
}

async function rejected(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

function tk(query: readonly string[]): string {
  const item = query.find((q) => q.startsWith('tk='));
  if (item === undefined) throw new Error(`no tk= in ${query.join('&')}`);
  return item.slice(3);
}

describe('parseServerUri', () => {
  it.each([
    ['coap://example.com', 'coap', 'example.com', 5683, false, 'U'],
    ['coaps://example.com', 'coaps', 'example.com', 5684, true, 'U'],
    ['coap+tcp://10.0.0.1:7000', 'coap+tcp', '10.0.0.1', 7000, false, 'T'],
    ['coaps+tcp://[::1]', 'coaps+tcp', '::1', 5684, true, 'T'],
    ['coap://[fe80::1]:1234/ignored?path', 'coap', 'fe80::1', 1234, false, 'U'],
  ])('%s', (uri, scheme, host, port, secure, binding) => {
    expect(parseServerUri(uri)).toEqual({ scheme, host, port, secure, binding });
  });

  it('refuses what is not a URI, a URI without host and other schemes, with a reason', () => {
    expect(thrown(() => parseServerUri('example.com:5683')).reason).toBe('unsupported-scheme');
    expect(thrown(() => parseServerUri('not a uri')).reason).toBe('bad-uri');
    expect(thrown(() => parseServerUri('coap://')).reason).toBe('bad-uri');
    const http = thrown(() => parseServerUri('http://127.0.0.1'));
    expect([http.reason, http.message]).toEqual(['unsupported-scheme', expect.stringMatching(/unsupported scheme http:\/\//)]);
  });

  it('does not echo a URI it cannot parse (it may hold credentials)', () => {
    const err = thrown(() => parseServerUri(`coap://user:${PSK_TEXT}@[bad`));
    expect(err.reason).toBe('bad-uri');
    expect(err.message).not.toContain(PSK_TEXT);
  });
});

describe('checkServerTransport', () => {
  it('asks for PSK credentials on secure schemes and refuses them on plain ones', () => {
    expect(thrown(() => checkServerTransport('coaps://h', {})).reason).toBe('psk-missing');
    expect(thrown(() => checkServerTransport('coaps+tcp://h', { pskIdentity: 'id' })).reason).toBe('psk-missing');
    const plain = thrown(() => checkServerTransport('coap+tcp://h', { pskIdentity: 'id', pskKey: PSK }));
    expect(plain.reason).toBe('psk-unexpected');
    expect(plain.message).not.toContain(PSK_TEXT);
    expect(checkServerTransport('coaps://h', { pskIdentity: 'id', pskKey: PSK }).secure).toBe(true);
  });
});

describe('clientIdentity', () => {
  it('takes the endpoint name from the connection string DeviceId and builds a token source', () => {
    const id = clientIdentity({ connectionString: `HostName=hub.example;DeviceId=dev-7;SharedAccessKey=${KEY}`, wallClock: () => T0 });
    expect(id.endpointName).toBe('dev-7');
    expect(id.sas!.current().token).toMatch(/^SharedAccessSignature sr=hub\.example%2Fdevices%2Fdev-7&sig=.+&se=1800003600$/);
    expect(clientIdentity({ endpointName: 'plain' })).toEqual({ endpointName: 'plain', sas: undefined });
  });

  it('refuses a missing name, a name that contradicts DeviceId, and a bad string, never echoing the key', () => {
    expect(thrown(() => clientIdentity({})).reason).toBe('endpoint-required');
    expect(thrown(() => clientIdentity({ endpointName: '' })).reason).toBe('endpoint-required');
    expect(thrown(() => clientIdentity({
      endpointName: 'other', connectionString: `HostName=h;DeviceId=d;SharedAccessKey=${KEY}`,
    })).reason).toBe('endpoint-mismatch');
    const missing = thrown(() => clientIdentity({ connectionString: `HostName=h;SharedAccessKey=${KEY}` }));
    expect([missing.reason, missing.message]).toEqual(['bad-connection-string', expect.stringMatching(/DeviceId/)]);
    expect(missing.message).not.toContain(KEY);
    // A key pasted where a name belongs must not come back in the message either.
    const pasted = thrown(() => clientIdentity({ connectionString: `HostName=h;DeviceId=d;${KEY}=x` }));
    expect(pasted.message).not.toContain(KEY);
    expect(thrown(() => clientIdentity({
      connectionString: `HostName=h;DeviceId=d;SharedAccessKey=${KEY}`, sasTtlSeconds: 60, sasRenewBeforeSeconds: 60,
    })).reason).toBe('bad-connection-string');
  });
});

describe('renewSasRegistration on a manual clock', () => {
  async function rig(ttlSeconds: number, renewBeforeSeconds: number) {
    const clock = new ManualClock();
    const network = new MemoryNetwork();
    const coap = { clock, random: () => 0, maxRetransmit: 1, ackTimeout: 1000 };
    const server = await TestLwm2mServer.start({ transport: network.createTransport('10.0.0.2', 5683), coap });
    const endpoint = createCoapEndpoint(network.createTransport('10.0.0.1', 56830), coap);
    const sas = new SasTokenSource(`HostName=hub.example;DeviceId=dev1;SharedAccessKey=${KEY}`, {
      ttlSeconds, renewBeforeSeconds, clock: () => T0 + clock.now(),
    });
    const client = new Lwm2mClient({
      endpointName: 'dev1', transport: endpoint, server: server.address(), clock, preferredFormat: ContentFormat.TLV,
      lifetime: 86400, retry: { initialDelayMs: 1000, maxDelayMs: 8000 }, extraQuery: () => [`tk=${sas.current().token}`],
    });
    client.addInstance(new TestServer(0, { shortServerId: 101, lifetime: 86400 })).addInstance(new TestDevice());
    const renewed: number[] = [];
    const stop = renewSasRegistration(client, sas, clock, (g) => renewed.push(g.expiresAt));
    const start = async (): Promise<void> => {
      const done = client.start();
      await flush();
      await done;
    };
    const close = async (): Promise<void> => {
      stop();
      const done = client.stop();
      await flush();
      await done;
      await endpoint.close();
      await server.close();
    };
    return { clock, server, client, renewed, stop, start, close };
  }

  it('re-registers with a fresh token renewBefore seconds before expiry, again and again', async () => {
    const r = await rig(3600, 300);
    await r.start();
    expect(tk(r.server.log[0]!.query)).toContain(`se=${T0 / 1000 + 3600}`);
    r.clock.advance(3299_000);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(1);
    r.clock.advance(1000);
    await flush();
    const registers = r.server.log.filter((e) => e.kind === 'register');
    expect(registers).toHaveLength(2);
    expect(tk(registers[1]!.query)).toContain(`se=${T0 / 1000 + 3300 + 3600}`);
    expect(r.renewed).toEqual([(T0 / 1000 + 3300 + 3600) * 1000]);
    // The next renewal is armed from the second registration.
    r.clock.advance(3300_000);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(3);
    await r.close();
  });

  it('stops renewing once stopped, and after a De-register until the next Register', async () => {
    const r = await rig(3600, 300);
    await r.start();
    const stopping = r.client.stop();
    await flush();
    await stopping;
    expect(r.clock.pending).toBe(0);
    await r.start();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(2);
    r.stop();
    r.clock.advance(7200_000);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(2);
    expect(r.renewed).toEqual([]);
    await r.close();
  });

  it('renews a token whose renewal window is one second exactly one second after registering', async () => {
    const r = await rig(60, 59);
    await r.start();
    r.clock.advance(999);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(1);
    r.clock.advance(1);
    await flush();
    expect(r.server.log.filter((e) => e.kind === 'register')).toHaveLength(2);
    await r.close();
  });
});

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('connectClient', () => {
  const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
  let server: TestLwm2mServer;
  let connected: ConnectedClient | undefined;

  beforeEach(async () => {
    server = await TestLwm2mServer.start({ coap: fast });
  });
  afterEach(async () => {
    await connected?.close();
    connected = undefined;
    await server.close();
  });

  function uri(): string {
    const { address, port } = server.address();
    return `coap://${address}:${port}`;
  }

  it('registers over UDP as the DeviceId with b=U and a tk= token, renews it on the client clock, and close() de-registers', async () => {
    const clock = new ManualClock();
    const expiries: number[] = [];
    connected = await connectClient(uri(), {
      connectionString: `HostName=hub.example;DeviceId=sas-dev;SharedAccessKey=${KEY}`, lifetime: 86400,
      clock, wallClock: () => T0 + clock.now(), coap: fast, onSasRenewed: (at) => expiries.push(at),
    });
    expect([connected.endpointName, connected.binding, connected.scheme]).toEqual(['sas-dev', 'U', 'coap']);
    expect(connected.endpoint.address().address).toBe('127.0.0.1');
    connected.client.addInstance(new TestServer(0, { shortServerId: 101, lifetime: 86400 })).addInstance(new TestDevice());
    await connected.client.start();
    const reg = server.findRegistration('sas-dev')!;
    expect(reg.query).toEqual(expect.arrayContaining(['ep=sas-dev', 'b=U']));
    expect(tk(reg.query)).toMatch(/^SharedAccessSignature sr=hub\.example%2Fdevices%2Fsas-dev&sig=.+&se=1800003600$/);
    const from = server.log.length;
    clock.advance(3300_000);
    const again = await server.waitFor('register', () => true, from);
    expect(tk(again.query)).toContain(`se=${T0 / 1000 + 3300 + 3600}`);
    expect(expiries).toEqual([(T0 / 1000 + 3300 + 3600) * 1000]);
    const before = server.log.length;
    const c = connected;
    connected = undefined;
    expect(await c.close()).toEqual({ timedOut: false });
    expect((await server.waitFor('deregister', () => true, before)).code).toBe('2.02');
    expect(await c.close()).toEqual({ timedOut: false });
  });

  it('keeps the app\'s extra query items and binding, adding the token', async () => {
    connected = await connectClient(uri(), {
      endpointName: 'sas-dev', connectionString: `HostName=hub.example;DeviceId=sas-dev;SharedAccessKey=${KEY}`,
      extraQuery: ['sms=1'], binding: 'UQ', coap: fast,
    });
    connected.client.addInstance(new TestDevice());
    await connected.client.start();
    const q = server.findRegistration('sas-dev')!.query;
    expect(q).toEqual(expect.arrayContaining(['b=UQ', 'sms=1']));
    expect(q.indexOf('sms=1')).toBeLessThan(q.findIndex((i) => i.startsWith('tk=')));
  });

  it('registers without a token when given only an endpoint name', async () => {
    connected = await connectClient(uri(), { endpointName: 'plain-dev', coap: fast });
    connected.client.addInstance(new TestDevice());
    await connected.client.start();
    expect(server.findRegistration('plain-dev')!.query.some((q) => q.startsWith('tk='))).toBe(false);
  });

  it('close() gives up on a server that stopped answering', async () => {
    connected = await connectClient(uri(), { endpointName: 'gone', coap: {}, closeTimeoutMs: 50 });
    connected.client.addInstance(new TestDevice());
    await connected.client.start();
    server.down = true;
    const c = connected;
    connected = undefined;
    expect(await c.close()).toEqual({ timedOut: true });
  });

  it('times a coap+tcp:// Register out on the client clock, not the wall clock', async () => {
    const silent = net.createServer((socket) => new StreamCoapEndpoint(socket).serve(() => new Promise(() => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const clock = new ManualClock();
      connected = await connectClient(`coap+tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, {
        endpointName: 'stream-clock', clock, closeTimeoutMs: 50, retry: { initialDelayMs: 1_000_000, maxDelayMs: 1_000_000 },
      });
      connected.client.addInstance(new TestDevice());
      const failed = new Promise<Error>((resolve) => connected!.client.on('registration-failed', (e) => resolve(e.error)));
      const started = connected.client.start();
      await flush();
      clock.advance(30_000); // the stream endpoint's default request timeout
      await started;
      expect(await failed).toBeInstanceOf(CoapTimeoutError);
    } finally {
      await connected?.close();
      connected = undefined;
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('checks its options before opening anything', async () => {
    expect((await rejected(connectClient(uri(), {}))).reason).toBe('endpoint-required');
    expect((await rejected(connectClient('coaps://127.0.0.1:1', { endpointName: 'x' }))).reason).toBe('psk-missing');
    expect((await rejected(connectClient('mqtt://127.0.0.1', { endpointName: 'x' }))).reason).toBe('unsupported-scheme');
  });

  it.each([['coap+tcp'], ['coaps+tcp']])('a refused %s:// connection is a connect-failed ConnectError without the key', async (scheme) => {
    const port = await closedPort();
    const secure = scheme === 'coaps+tcp';
    const err = await rejected(connectClient(`${scheme}://127.0.0.1:${port}`, {
      connectionString: `HostName=hub.example;DeviceId=d;SharedAccessKey=${KEY}`, handshakeTimeoutMs: 2000,
      ...(secure ? { pskIdentity: 'id', pskKey: PSK } : {}),
    }));
    expect(err.reason).toBe('connect-failed');
    expect(err.message).toMatch(new RegExp(`^cannot connect to ${scheme.replace('+', '\\+')}://127\\.0\\.0\\.1:${port}: `));
    for (const secret of [KEY, PSK_TEXT, 'super-secret-psk']) expect(err.message).not.toContain(secret);
  });
});
