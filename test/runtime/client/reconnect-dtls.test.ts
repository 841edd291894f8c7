// connectClient over coaps:// recovers from a restart of libcoap's coap-rd-gnutls on the same port: re-handshake, Register again.
import { inspect } from 'node:util';
import { CoapTimeoutError, DtlsError } from '../../../runtime/coap/index.js';
import { RehandshakingEndpoint } from '../../../runtime/coap/reconnect.js';
import { connectClient, type ConnectedClient } from '../../../runtime/client/index.js';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../../support/libcoap.js';
import { TestDevice, TestServer } from '../../support/objects.js';

const PSK_KEY = 'reconnect-dtls-secret-key';
const rdArgs = (port: number): string[] => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY];
// Short retransmission and handshake times so a dead session and a missing server show within a second.
const fast = { ackTimeout: 100, ackRandomFactor: 1, maxRetransmit: 1 };

/** A crash: SIGKILL leaves no time for the close_notify alert a SIGTERM'd server sends, so the session dies silently. */
function crash(server: LibcoapProcess): Promise<void> {
  return new Promise((resolve) => {
    server.proc.once('exit', () => resolve());
    server.proc.kill('SIGKILL');
  });
}

describeLibcoap('connectClient over coaps:// after coap-rd-gnutls restarts', () => {
  let rd: LibcoapProcess | undefined;
  let connected: ConnectedClient | undefined;

  beforeEach(async () => {
    rd = await startLibcoap('coap-rd-gnutls', rdArgs);
  });
  afterEach(async () => {
    await connected?.close();
    connected = undefined;
    await stopLibcoap(rd?.proc);
  });

  async function connect(): Promise<ConnectedClient> {
    connected = await connectClient(`coaps://127.0.0.1:${rd!.port + 1}`, {
      endpointName: 'dtls-dev', pskIdentity: 'dtls-dev', pskKey: Buffer.from(PSK_KEY), handshakeTimeoutMs: 500,
      coap: fast, lifetime: 86400, closeTimeoutMs: 1000, retry: { initialDelayMs: 100, maxDelayMs: 400 },
    });
    connected.client.addInstance(new TestServer(0, { shortServerId: 101, lifetime: 86400 })).addInstance(new TestDevice());
    return connected;
  }

  it('after a crash an Update into the dead session times out; the next attempt re-handshakes and registers with the new server', async () => {
    const { client, endpoint } = await connect();
    expect(endpoint).toBeInstanceOf(RehandshakingEndpoint);
    const first = client.next('registered');
    await client.start();
    await first;
    const port = rd!.port;
    await crash(rd!);
    rd = await startLibcoap('coap-rd-gnutls', rdArgs, port);

    const failed = client.next('registration-failed');
    const registered = client.next('registered');
    await client.update();
    const failure = await failed;
    expect(failure.operation).toBe('update');
    expect(failure.error).toBeInstanceOf(CoapTimeoutError);
    await registered;
    expect((endpoint as RehandshakingEndpoint).reconnects).toBe(1);
    expect((endpoint as RehandshakingEndpoint).stale).toBe(false);
  });

  it('a failed handshake is reported as a DtlsError without the key and retried at the next attempt', async () => {
    const { client, endpoint } = await connect();
    await client.start();
    const port = rd!.port;
    await crash(rd!);
    rd = undefined;

    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const handshakeFailed = client.next('error');
    // The retry that needed the handshake fails with it (an Update: the registration's lifetime has not run out, so the
    // server may still hold it), and the client keeps retrying.
    const registerFailed = new Promise<Error>((resolve) => {
      client.on('registration-failed', (f) => { if (f.error instanceof DtlsError) resolve(f.error); });
    });
    await client.update();
    const err = await handshakeFailed;
    expect(err).toBeInstanceOf(DtlsError);
    const dump = inspect(err) + String(err.stack);
    expect(dump).not.toContain(PSK_KEY);
    expect(dump).not.toContain(Buffer.from(PSK_KEY).toString('hex'));
    expect(await registerFailed).toBe(err);

    const registered = client.next('registered');
    rd = await startLibcoap('coap-rd-gnutls', rdArgs, port);
    await registered;
    expect((endpoint as RehandshakingEndpoint).reconnects).toBe(1);
    expect(errors.every((e) => e instanceof DtlsError)).toBe(true);
  });

  it('a server stopped gracefully closes the session: the next Update re-handshakes at once, without waiting for a timeout', async () => {
    const { client, endpoint } = await connect();
    await client.start();
    const port = rd!.port;
    await stopLibcoap(rd!.proc);
    rd = await startLibcoap('coap-rd-gnutls', rdArgs, port);
    // libcoap sends close_notify on SIGTERM; node-dtls-client then drops the session.
    expect((endpoint as RehandshakingEndpoint).stale).toBe(true);
    const failed = client.next('registration-failed');
    const registered = client.next('registered');
    await client.update();
    // The Update went out on a new session, so the restarted server answered it: it does not know the registration.
    expect((await failed).code).toBe('4.04');
    await registered;
    expect((endpoint as RehandshakingEndpoint).reconnects).toBe(1);
  });
});
