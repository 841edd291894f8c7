// A UDP datagram router for interop tests: one address in front of two CoAP servers, each datagram passed on unchanged by its first Uri-Path segment.
import * as dgram from 'node:dgram';
import { decodeMessage, OptionNumber } from '../../runtime/coap/index.js';

/** Where datagrams go: by the first Uri-Path segment, else to `fallback`. */
export interface PathRoutes {
  readonly routes: Readonly<Record<string, number>>;
  readonly fallback: number;
}

/**
 * Lets one client reach two servers at one address: libcoap's coap-rd for /rd and coap-server for /dp, say. Every
 * datagram is forwarded byte for byte (tokens, message ids, options untouched); each server answers from its own
 * socket, and the answer goes back to the client from the router's address, as one server's would. Datagrams without
 * a Uri-Path (an ACK or RST of the client's) go to the server that last sent the client something. It knows nothing of
 * LwM2M and answers nothing itself.
 */
export class PathRouter {
  readonly #front = dgram.createSocket('udp4');
  readonly #backs = new Map<number, dgram.Socket>();
  #client: { address: string; port: number } | undefined;
  #lastBack: number | undefined;
  port = 0;

  constructor(readonly options: PathRoutes) {}

  async start(): Promise<this> {
    for (const port of new Set([...Object.values(this.options.routes), this.options.fallback])) {
      const back = dgram.createSocket('udp4');
      back.on('message', (data) => {
        this.#lastBack = port;
        if (this.#client) this.#front.send(data, this.#client.port, this.#client.address);
      });
      await new Promise<void>((resolve) => back.bind(0, '127.0.0.1', () => resolve()));
      this.#backs.set(port, back);
    }
    this.#front.on('message', (data, from) => {
      this.#client = { address: from.address, port: from.port };
      const to = this.#route(data);
      this.#backs.get(to)?.send(data, to, '127.0.0.1');
    });
    await new Promise<void>((resolve) => this.#front.bind(0, '127.0.0.1', () => resolve()));
    this.port = this.#front.address().port;
    return this;
  }

  #route(data: Uint8Array): number {
    const m = decodeMessage(data);
    const first = m?.options.find((o) => o.number === OptionNumber.UriPath);
    if (!first) return this.#lastBack ?? this.options.fallback;
    return this.options.routes[Buffer.from(first.value).toString('utf8')] ?? this.options.fallback;
  }

  async stop(): Promise<void> {
    for (const s of [this.#front, ...this.#backs.values()]) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
