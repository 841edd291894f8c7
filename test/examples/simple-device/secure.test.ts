// The example device registering with libcoap's coap-rd over coaps:// (DTLS-PSK), coap+tcp:// and coaps+tcp:// (TLS-PSK); a wrong key never registers.
import { startSimpleDevice, SimpleDeviceError, type SimpleDevice } from '../../../examples/simple-device/index.js';
import { haveLibcoap, startLibcoap, type LibcoapServer } from '../support/libcoap.js';

const PSK_KEY = 'example-device-psk-1';
const KEY = Uint8Array.from(Buffer.from(PSK_KEY));
const fast = { ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 };
const describeLibcoap = haveLibcoap ? describe : describe.skip;

describeLibcoap('simple-device with coap-rd-gnutls', () => {
  let rd: LibcoapServer;
  let dev: SimpleDevice | undefined;
  let lines: string[] = [];
  // libcoap 4.3.1's coap-rd aborts (double free) when a registration is DELETEd, so each test gets a fresh one.
  beforeEach(async () => {
    lines = [];
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY, '-h', 'hint']);
  });
  afterEach(async () => {
    await dev?.stop();
    dev = undefined;
    await rd?.stop();
  });

  const uri = (scheme: string, secure: boolean): string => `${scheme}://127.0.0.1:${rd.port + (secure ? 1 : 0)}`;

  it.each([
    ['coaps', true],
    ['coap+tcp', false],
    ['coaps+tcp', true],
  ])('registers over %s:// and de-registers on stop', async (scheme, secure) => {
    dev = await startSimpleDevice({
      server: uri(scheme, secure), endpoint: `sim-${scheme.replace('+', '-')}`, lifetime: 60, log: (l) => lines.push(l),
      ...(secure ? { pskIdentity: 'sim-device', pskKey: KEY } : {}),
      handshakeTimeoutMs: 3000, coap: fast, stream: { requestTimeoutMs: 1000 },
    });
    expect(dev.client.state).toBe('registered');
    expect(dev.client.location?.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('registered as'))).toBe(true);
    const d = dev;
    dev = undefined;
    await d.stop();
    // The De-register went out (coap-rd crashes on it instead of answering; see above).
    expect(lines.some((l) => l.includes('deregistered'))).toBe(true);
    expect(lines.join('\n')).not.toContain(PSK_KEY);
  });

  it.each([
    ['coaps'],
    ['coaps+tcp'],
  ])('a wrong PSK key over %s:// never registers and is reported without the key', async (scheme) => {
    const wrong = 'not-the-right-key-at-all';
    const err = await startSimpleDevice({
      server: uri(scheme, true), endpoint: 'sim-wrong', log: (l) => lines.push(l),
      pskIdentity: 'sim-device', pskKey: Uint8Array.from(Buffer.from(wrong)), handshakeTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimpleDeviceError);
    expect((err as Error).message).toMatch(new RegExp(`cannot connect to ${scheme.replace('+', '\\+')}://`));
    expect((err as Error).message).toMatch(/check the PSK identity and key/);
    expect((err as Error).message).not.toContain(wrong);
    expect(lines.some((l) => l.includes('registered'))).toBe(false);
  });
});

describe('simple-device option checks', () => {
  it('refuses a secure URI without a key, and a key on a plain URI', async () => {
    await expect(startSimpleDevice({ server: 'coaps://127.0.0.1:5684', endpoint: 'x', log: () => undefined })).rejects.toThrow(/needs --psk-identity/);
    await expect(startSimpleDevice({ server: 'coap://127.0.0.1:5683', endpoint: 'x', pskIdentity: 'a', pskKey: KEY, log: () => undefined }))
      .rejects.toThrow(/need a secure URI/);
    await expect(startSimpleDevice({ server: 'http://127.0.0.1', endpoint: 'x', log: () => undefined })).rejects.toThrow(/unsupported scheme/);
    await expect(startSimpleDevice({ server: 'coap://127.0.0.1', log: () => undefined })).rejects.toThrow(/--endpoint/);
  });
});
