// Typed errors of the CoAP message layer: why a request() or an exchange failed, with the peer it concerns.
import type { Peer, ResponseCode } from './types.js';

/** Base class of the message layer's errors; `peer` is the remote end the failed exchange was with. */
export class CoapError extends Error {
  readonly peer: Peer | undefined;
  constructor(message: string, peer?: Peer) {
    super(peer ? `${message} (${peer.address}:${peer.port})` : message);
    this.name = new.target.name;
    this.peer = peer;
  }
}

/** The peer never answered: a CON went unacknowledged after the last retransmission, or no response came in time. */
export class CoapTimeoutError extends CoapError {
  /** How many times the message was sent (1 + retransmissions). */
  readonly transmissions: number;
  constructor(message: string, peer: Peer, transmissions: number) {
    super(message, peer);
    this.transmissions = transmissions;
  }
}

/** The peer refused the message with a Reset (RST). */
export class CoapResetError extends CoapError {}

/** The endpoint was closed while the exchange was still open. */
export class CoapClosedError extends CoapError {}

/** A block-wise transfer (RFC 7959) went wrong: out-of-order blocks, a body over the size limit, a changed ETag. */
export class CoapBlockwiseError extends CoapError {}

/** A message that cannot be encoded (e.g. a token longer than 8 bytes, a message larger than the transport allows). */
export class CoapMessageError extends CoapError {}

/**
 * Thrown by a request handler (or a Block1 sink or selector) to answer with a particular response code: the
 * message layer answers `code` with the message as diagnostic payload. Any other error answers 5.00. The layer
 * knows nothing above CoAP; the runtime's Lwm2mError extends this.
 */
export class CoapResponseError extends Error {
  readonly code: ResponseCode;
  constructor(code: ResponseCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
