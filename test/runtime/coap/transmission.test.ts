// RFC 7252 §4.8 transmission parameters: the defaults and the derived values, and per-endpoint overrides.
import { transmissionParameters } from '../../../runtime/coap/transmission.js';

test('defaults give the RFC 7252 §4.8.2 derived times', () => {
  const p = transmissionParameters();
  expect(p).toMatchObject({ ackTimeout: 2000, ackRandomFactor: 1.5, maxRetransmit: 4, maxLatency: 100_000, processingDelay: 2000 });
  expect(p.maxTransmitSpan).toBe(45_000);
  expect(p.maxTransmitWait).toBe(93_000);
  expect(p.exchangeLifetime).toBe(247_000);
  expect(p.nonLifetime).toBe(145_000);
});

test('processingDelay follows ackTimeout unless given', () => {
  expect(transmissionParameters({ ackTimeout: 500 }).processingDelay).toBe(500);
  expect(transmissionParameters({ ackTimeout: 500, processingDelay: 10 }).processingDelay).toBe(10);
});
