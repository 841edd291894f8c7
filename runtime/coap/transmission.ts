// The datagram endpoint's settings and RFC 7252 §4.8 transmission parameters, base and derived.
import type { Clock } from './clock.js';
import type { Peer } from './types.js';

/** Per-endpoint settings; times in milliseconds. Transmission defaults are RFC 7252 §4.8. */
export interface CoapEndpointOptions {
  /** ACK_TIMEOUT, 2000. */
  readonly ackTimeout?: number;
  /** ACK_RANDOM_FACTOR, 1.5. */
  readonly ackRandomFactor?: number;
  /** MAX_RETRANSMIT, 4. */
  readonly maxRetransmit?: number;
  /** MAX_LATENCY, 100000. */
  readonly maxLatency?: number;
  /** PROCESSING_DELAY, defaults to ackTimeout. */
  readonly processingDelay?: number;
  /** How long after an empty ACK a separate response is awaited; default EXCHANGE_LIFETIME. */
  readonly separateResponseTimeout?: number;
  /** How long a handler may take before the request gets an empty ACK and a separate response; 1000. */
  readonly separateResponseDelay?: number;
  /** Preferred block size for Block1/Block2 (16..1024, power of two); 1024. */
  readonly blockSize?: number;
  /** Largest body reassembled from blocks, in either direction; 1 MiB. Larger Block1 uploads get 4.13. */
  readonly maxBodySize?: number;
  /** Concurrent incoming Block1 transfers; 8. A new transfer beyond that gets 5.03. */
  readonly maxBlock1Transfers?: number;
  /** An incoming Block1 transfer with no block for this long is dropped (its next block gets 4.08); EXCHANGE_LIFETIME. */
  readonly blockTransferTimeout?: number;
  /** Bound of the duplicate-detection cache; 4096 entries. */
  readonly maxDedupEntries?: number;
  /** Bound of the cache of large responses served block by block; 32 entries. */
  readonly maxBlock2Entries?: number;
  /** Length of the tokens this side generates, 1..8; 8. */
  readonly tokenLength?: number;
  /**
   * Requests this side may have outstanding per peer (NSTART, RFC 7252 §4.7); more wait their turn.
   * Unlimited by default; 1 is the RFC's default. Block-wise transfers count one block exchange at a time.
   */
  readonly nstart?: number;
  /** Critical options (odd numbers) the handler understands beyond the ones the layer does; others get 4.02. */
  readonly knownOptions?: readonly number[];
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for ACK timeouts; Math.random by default. */
  readonly random?: () => number;
  /** Called with errors the layer swallows to keep running: handler failures, send failures. */
  readonly onError?: (error: unknown) => void;
  /** Called when a peer answers a NON notification with RST, i.e. cancels that observation (RFC 7641 §3.6). */
  readonly onNotificationReset?: (peer: Peer, token: Uint8Array) => void;
}

/** The transmission parameters in force, base and derived (RFC 7252 §4.8.2). */
export interface TransmissionParameters {
  readonly ackTimeout: number;
  readonly ackRandomFactor: number;
  readonly maxRetransmit: number;
  readonly maxLatency: number;
  readonly processingDelay: number;
  readonly maxTransmitSpan: number;
  readonly maxTransmitWait: number;
  readonly exchangeLifetime: number;
  readonly nonLifetime: number;
}

/** Parameters already computed, by their base values: the endpoints of a fleet share one frozen object. */
const computed = new Map<string, TransmissionParameters>();

export function transmissionParameters(options: CoapEndpointOptions = {}): TransmissionParameters {
  const ackTimeout = options.ackTimeout ?? 2000;
  const ackRandomFactor = options.ackRandomFactor ?? 1.5;
  const maxRetransmit = options.maxRetransmit ?? 4;
  const maxLatency = options.maxLatency ?? 100_000;
  const processingDelay = options.processingDelay ?? ackTimeout;
  const key = `${ackTimeout},${ackRandomFactor},${maxRetransmit},${maxLatency},${processingDelay}`;
  let params = computed.get(key);
  if (!params) {
    params = Object.freeze(derive(ackTimeout, ackRandomFactor, maxRetransmit, maxLatency, processingDelay));
    // Bounded: a process that tries many settings (tests) keeps the latest ones.
    if (computed.size >= 64) computed.delete(computed.keys().next().value!);
    computed.set(key, params);
  }
  return params;
}

function derive(ackTimeout: number, ackRandomFactor: number, maxRetransmit: number, maxLatency: number, processingDelay: number): TransmissionParameters {
  const maxTransmitSpan = ackTimeout * (2 ** maxRetransmit - 1) * ackRandomFactor;
  const maxTransmitWait = ackTimeout * (2 ** (maxRetransmit + 1) - 1) * ackRandomFactor;
  return {
    ackTimeout,
    ackRandomFactor,
    maxRetransmit,
    maxLatency,
    processingDelay,
    maxTransmitSpan,
    maxTransmitWait,
    exchangeLifetime: maxTransmitSpan + 2 * maxLatency + processingDelay,
    nonLifetime: maxTransmitSpan + maxLatency,
  };
}
