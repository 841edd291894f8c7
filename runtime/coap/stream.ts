// Public API of the secure and stream transports: RFC 8323 endpoints, TLS/TCP connect, DTLS-PSK, length-prefixed TLS.
export { StreamCoapEndpoint, type StreamEndpointOptions, type PeerCapabilities } from './tcp.js';
export {
  connectTcpEndpoint, connectTlsEndpoint, openTcpSocket, openTlsSocket, DEFAULT_PSK_CIPHERS,
  type StreamConnectOptions, type TlsSecurityOptions, type TcpEndpointOptions, type TlsEndpointOptions,
} from './tls.js';
export { connectCoapEndpoint, type ConnectCoapEndpointOptions } from './stream-connect.js';
export { LengthPrefixedTransport, connectLengthPrefixedTransport } from './stream-datagram.js';
export { TransportError, TlsError, type TransportFailure } from './stream-errors.js';
export { DtlsError, createDtlsTransport, type DtlsTransport, type DtlsTransportOptions, type DtlsCipherSuite } from './dtls.js';
export {
  encodeStreamMessage, StreamFrameDecoder, StreamFramingError, SIGNAL, CSM_OPTION, type StreamMessage,
} from './stream-codec.js';
