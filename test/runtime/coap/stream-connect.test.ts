// connectCoapEndpoint's URI and security checks (the connections themselves are in tcp.test.ts and tls.test.ts).
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import { TlsError } from '../../../runtime/coap/stream-errors.js';

test('coap:// and coaps:// belong to the UDP layer; no URI and no host are refused', async () => {
  await expect(connectCoapEndpoint('coap://127.0.0.1')).rejects.toThrow(/coap\+tcp/);
  await expect(connectCoapEndpoint('coaps://127.0.0.1')).rejects.toThrow(TypeError);
  await expect(connectCoapEndpoint('nonsense')).rejects.toThrow(TypeError);
  await expect(connectCoapEndpoint('coap+tcp:nohost')).rejects.toThrow(/no host/);
});

test('security options on an unsecured coap+tcp:// URI are refused before connecting', async () => {
  const err = await connectCoapEndpoint('coap+tcp://127.0.0.1:1', { pskIdentity: 'id', pskKey: Uint8Array.of(1) }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TlsError);
  expect((err as TlsError).failure).toBe('handshake');
});
