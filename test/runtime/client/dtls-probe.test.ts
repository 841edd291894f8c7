// The DTLS probe against libcoap (GnuTLS) and a port nobody listens on, and the connect error it lets us word: check the PSK, or nothing answers.
import { connectClient } from '../../../runtime/client/index.js';
import { dtlsAnswers, probeClientHello } from '../../../runtime/client/dtls-probe.js';
import { describeLibcoap, freePort, startLibcoap, type LibcoapProcess } from '../../support/libcoap.js';

it('builds a DTLS 1.2 ClientHello record offering TLS_PSK_WITH_AES_128_CCM_8', () => {
  const hello = probeClientHello();
  expect([...hello.subarray(0, 3)]).toEqual([22, 0xfe, 0xfd]);
  expect(Buffer.from(hello).readUInt16BE(11)).toBe(hello.length - 13);
  expect(hello[13]).toBe(1);
  expect(Buffer.from(hello).includes(Buffer.from([0, 2, 0xc0, 0xa8]))).toBe(true);
});

it('hears nothing from a port nobody listens on', async () => {
  expect(await dtlsAnswers('127.0.0.1', await freePort(), 300)).toBe(false);
});

describeLibcoap('against coap-rd-gnutls', () => {
  let rd: LibcoapProcess | undefined;
  const KEY = 'the-right-key';
  beforeAll(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', KEY]);
  });
  afterAll(() => {
    rd?.proc.kill('SIGKILL');
  });

  it('hears a DTLS server answer', async () => {
    expect(await dtlsAnswers('127.0.0.1', rd!.port + 1)).toBe(true);
  });

  it('a wrong key says to check the PSK identity and key, and never shows the key', async () => {
    const wrong = 'a-wrong-secret-key';
    const err = await connectClient(`coaps://127.0.0.1:${rd!.port + 1}`, {
      endpointName: 'probe', pskIdentity: 'probe', pskKey: Buffer.from(wrong), handshakeTimeoutMs: 1000,
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/the server answered but refused the handshake: check the PSK identity and key$/);
    expect((err as Error).message).not.toContain(wrong);
    expect((err as Error).message).not.toContain(Buffer.from(wrong).toString('hex'));
  });

  it('no DTLS server at all says nothing answers', async () => {
    const err = await connectClient(`coaps://127.0.0.1:${await freePort()}`, {
      endpointName: 'probe', pskIdentity: 'probe', pskKey: Buffer.from('k'), handshakeTimeoutMs: 500,
    }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/nothing answers DTLS there$/);
  });
});
