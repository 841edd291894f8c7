// The CoAP message layer's public API: endpoint, UDP transport, message helpers, typed errors.
export type * from './types.js';
export * from './errors.js';
export { createCoapEndpoint, transmissionParameters, type CoapEndpointOptions, type TransmissionParameters } from './endpoint.js';
export { createUdpTransport, createUdpEndpoint, type UdpTransportOptions } from './udp.js';
export { systemClock, ManualClock, type Clock, type TimerHandle } from './clock.js';
export { MemoryNetwork, type DeliveryFilter } from './memory.js';
export {
  OptionNumber,
  decodeMessage,
  encodeMessage,
  isWellFormed,
  decodeBlock,
  encodeBlock,
  encodeUint,
  decodeUint,
  type CoapMessage,
  type MessageType,
  type BlockOption,
} from './message.js';
export * from './stream.js';
export { parseUri, uriParts, UriError, type ParsedUri } from './uri.js';
export { ReconnectingStreamEndpoint, RehandshakingEndpoint, type RecoveringEndpoint } from './reconnect.js';
