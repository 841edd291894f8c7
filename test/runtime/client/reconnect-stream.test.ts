// connectClient over coap+tcp:// and coaps+tcp:// (PSK) recovers from a server restart on the same port: reconnects, registers again.
import { inspect } from 'node:util';
import { TlsError } from '../../../runtime/coap/index.js';
import { ReconnectingStreamEndpoint } from '../../../runtime/coap/reconnect.js';
import { connectClient, type ConnectedClient } from '../../../runtime/client/index.js';
import { TestDevice, TestServer } from '../../support/objects.js';
import { StreamRegistrationServer } from '../../support/stream-rd.js';

const KEY = Buffer.from('5ec7e75ec7e75ec7e75ec7e75ec7e75e', 'hex');
const IDENTITY = 'urn:dev:reconnect';

describe.each([
  ['coap+tcp', false],
  ['coaps+tcp', true],
] as const)('connectClient over %s after a server restart', (scheme, secure) => {
  let rd: StreamRegistrationServer;
  let connected: ConnectedClient | undefined;

  beforeEach(async () => {
    rd = new StreamRegistrationServer(secure ? { key: KEY, identity: IDENTITY } : undefined);
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
