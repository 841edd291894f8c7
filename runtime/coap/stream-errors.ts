// Typed errors of the secure and stream transports; messages name what failed, never a key, identity secret or token.

/** Why a transport could not be opened or was lost. */
export type TransportFailure =
  | 'refused'      // nothing listens at the address
  | 'timeout'      // no handshake or answer in time
  | 'handshake'    // the (D)TLS handshake failed (wrong PSK, no common cipher suite, ...)
  | 'alert'        // the peer sent a fatal alert after the handshake
  | 'certificate'  // the server's certificate is untrusted or names another host
  | 'closed'       // the connection ended while something was outstanding
  | 'aborted'      // the peer sent a 7.05 Abort, or we aborted after a protocol error
  | 'protocol'     // the peer broke RFC 8323 framing or CSM rules
  | 'network';     // any other socket error

export class TransportError extends Error {
  readonly failure: TransportFailure;
  /** A machine-readable detail from the underlying library (an OpenSSL/Node error code or alert name), never secret. */
  readonly detail: string | undefined;
  constructor(failure: TransportFailure, message: string, detail?: string) {
    super(message);
    this.name = new.target.name;
    this.failure = failure;
    this.detail = detail;
  }
}

/** A TLS or TCP connection that failed or was lost (coap+tcp://, coaps+tcp://, and the length-prefixed Azure framing). */
export class TlsError extends TransportError {}

/** Pulls the error code out of a Node or OpenSSL error without keeping the error (its fields are not ours to vouch for). */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA', 'HOSTNAME_MISMATCH',
]);

/** Maps a socket/TLS error seen while connecting to a TlsError with a fixed, secret-free message. */
export function tlsErrorFrom(err: unknown, where: string, handshakeDone: boolean): TlsError {
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return new TlsError('refused', `${where}: connection refused`, code);
  if (code === 'ETIMEDOUT') return new TlsError('timeout', `${where}: timed out`, code);
  if (code !== undefined && CERT_CODES.has(code)) {
    return new TlsError('certificate', `${where}: server certificate not accepted (${code})`, code);
  }
  if (code !== undefined && /^ERR_SSL_/.test(code)) {
    return new TlsError(handshakeDone ? 'alert' : 'handshake', `${where}: TLS ${handshakeDone ? 'alert' : 'handshake failed'} (${code})`, code);
  }
  if (!handshakeDone && (code === 'ECONNRESET' || code === 'EPIPE' || code === undefined)) {
    return new TlsError('handshake', `${where}: connection closed during the handshake${code ? ` (${code})` : ''}`, code);
  }
  return new TlsError('network', `${where}: ${code ?? 'socket error'}`, code);
}
