// The contract between the CoAP message layer (coap/) and the LwM2M client (client/): messages, peers, endpoints.

/** Request methods LwM2M uses (RFC 7252 and RFC 8132). */
export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

/** A response code as "class.detail", e.g. "2.05". */
export type ResponseCode = `${2 | 4 | 5}.${string}`;

/** Where a message came from or goes to. For stream transports `address`/`port` name the connection's remote end. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** An option the message layer does not interpret, kept as raw bytes (number as in the IANA registry). */
export interface RawOption {
  readonly number: number;
  readonly value: Uint8Array;
}

/** A request as the handler sees it: block-wise transfers are already reassembled. */
export interface IncomingRequest {
  readonly peer: Peer;
  readonly method: CoapMethod;
  /** Uri-Path segments, decoded ("rd", "3", "0"). */
  readonly path: readonly string[];
  /** Uri-Query items ("ep=dev1", "lt=300"). */
  readonly query: readonly string[];
  readonly token: Uint8Array;
  readonly confirmable: boolean;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** The Observe option value when present (0 register, 1 deregister). */
  readonly observe?: number;
  readonly payload: Uint8Array;
  readonly options: readonly RawOption[];
  /**
   * Set when the body went block by block to a Block1Sink (see CoapEndpoint.streamBlock1): its length in
   * bytes. `payload` is then empty; the handler answers the last block.
   */
  readonly streamed?: number;
}

/** The first block of a Block1 request, for a Block1Selector to decide whether to stream it. */
export interface Block1Start {
  readonly peer: Peer;
  readonly method: CoapMethod;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly contentFormat?: number;
  /** The body size the sender announced (Size1), if it did. */
  readonly size1?: number;
}

/** Where the blocks of one streamed Block1 request go, in order, instead of being reassembled in memory. */
export interface Block1Sink {
  /**
   * One block at byte `offset`; `more` is false for the last. A rejection ends the transfer; an Lwm2mError's
   * code is the answer (4.13 for a body too large).
   */
  write(offset: number, bytes: Uint8Array, more: boolean): void | Promise<void>;
  /** The transfer ended without its last block: no block within the transfer timeout, or a new block 0. */
  abort?(): void;
}

/** Returns a sink to stream a Block1 request into, or undefined to reassemble it as usual; a thrown Lwm2mError refuses it. */
export type Block1Selector = (start: Block1Start) => Block1Sink | undefined | Promise<Block1Sink | undefined>;

/** A response from a request handler; the layer adds token, message id, Block2 as needed. */
export interface OutgoingResponse {
  readonly code: ResponseCode;
  readonly contentFormat?: number;
  readonly payload?: Uint8Array;
  /** Observe sequence number for the first response of an observation. */
  readonly observe?: number;
  readonly locationPath?: readonly string[];
  readonly options?: readonly RawOption[];
}

/** A request this side sends (Register, Update, De-register, or any client request). */
export interface OutgoingRequest {
  readonly method: CoapMethod;
  readonly path?: readonly string[];
  readonly query?: readonly string[];
  readonly contentFormat?: number;
  readonly accept?: number;
  readonly observe?: number;
  readonly payload?: Uint8Array;
  /** CON by default. */
  readonly confirmable?: boolean;
  readonly options?: readonly RawOption[];
}

/** A response this side receives; Block2 transfers are already reassembled. */
export interface IncomingResponse {
  readonly peer: Peer;
  readonly code: ResponseCode;
  readonly token: Uint8Array;
  readonly contentFormat?: number;
  readonly observe?: number;
  readonly locationPath: readonly string[];
  readonly payload: Uint8Array;
  readonly options: readonly RawOption[];
}

export type RequestHandler = (request: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;

/** How a notification ended: acknowledged, refused with RST (cancel the observation), or never acknowledged. */
export type NotificationOutcome = 'acked' | 'reset' | 'timeout' | 'sent';

/**
 * One CoAP endpoint: one socket (or connection) that both sends requests and serves them.
 * UDP, DTLS, TCP and TLS transports all present this face to the client.
 */
export interface CoapEndpoint {
  /** Sends a request and resolves with its (reassembled) response; rejects with CoapTimeoutError when the peer never answers. */
  request(peer: Peer, request: OutgoingRequest): Promise<IncomingResponse>;
  /** Installs the handler for requests from peers; a thrown error becomes 5.00. */
  serve(handler: RequestHandler): void;
  /**
   * Sends an Observe notification: a response carrying the observation's token, as a new CON or NON
   * message. Resolves when a CON is acknowledged ('acked'), reset ('reset') or given up ('timeout');
   * a NON resolves 'sent' once written.
   */
  notify(peer: Peer, token: Uint8Array, response: OutgoingResponse, confirmable: boolean): Promise<NotificationOutcome>;
  /**
   * Streams chosen Block1 uploads block by block to a sink (bodies larger than memory, e.g. a firmware
   * Package) instead of reassembling them; the handler is called once, after the last block, with an
   * empty payload and `streamed` set. Optional: transports without it reassemble everything.
   */
  streamBlock1?(selector: Block1Selector | undefined): void;
  /** The local address the endpoint is bound to. */
  address(): Peer;
  close(): Promise<void>;
}

/**
 * What the message layer sends datagrams through: plain UDP (udp.ts) or DTLS. The layer owns framing, reliability
 * and block-wise transfer; a transport only moves whole datagrams to and from peers.
 */
export interface DatagramTransport {
  send(data: Uint8Array, peer: Peer): Promise<void> | void;
  /** Registers a listener for every datagram received; listeners must not throw. */
  onMessage(listener: (data: Uint8Array, peer: Peer) => void): void;
  address(): Peer;
  close(): Promise<void>;
}
