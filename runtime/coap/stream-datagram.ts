// The 2016 Azure IoT Hub DM preview framing: RFC 7252 messages, each behind a 2-byte big-endian length, over TLS.
import type * as net from 'node:net';
import { TlsError } from './stream-errors.js';
import { openTlsSocket, type StreamConnectOptions, type TlsSecurityOptions } from './tls.js';
import type { DatagramTransport, Peer } from './types.js';

const MAX_FRAME = 0xffff;

/**
 * Wraps a connected stream so each send() is one length-prefixed frame and each received frame is one
 * message. Every message comes "from" the connection's remote end; send() ignores `peer` for the same reason.
 */
export class LengthPrefixedTransport implements DatagramTransport {
  readonly #socket: net.Socket;
  readonly #listeners: ((data: Uint8Array, peer: Peer) => void)[] = [];
  readonly #remote: Peer;
  readonly #local: Peer;
  #buffer: Buffer = Buffer.alloc(0);
  #closeError: TlsError | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    this.#local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => { this.#closeError ??= new TlsError('network', 'connection error'); });
    socket.on('close', () => { this.#closeError ??= new TlsError('closed', 'connection closed'); });
  }

  send(data: Uint8Array, _peer: Peer): Promise<void> {
    if (data.length > MAX_FRAME) return Promise.reject(new RangeError(`message of ${data.length} bytes exceeds the 2-byte length prefix`));
    if (this.#closeError || this.#socket.destroyed) return Promise.reject(this.#closeError ?? new TlsError('closed', 'connection closed'));
    const head = Buffer.alloc(2);
    head.writeUInt16BE(data.length);
    return new Promise<void>((resolve, reject) => {
      this.#socket.write(Buffer.concat([head, data]), (err) => (err ? reject(new TlsError('network', 'write failed')) : resolve()));
    });
  }

  onMessage(listener: (data: Uint8Array, peer: Peer) => void): void {
    this.#listeners.push(listener);
  }

  address(): Peer {
    return this.#local;
  }

  remote(): Peer {
    return this.#remote;
  }

  close(): Promise<void> {
    if (this.#socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1_000).unref();
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const len = this.#buffer.readUInt16BE(0);
      if (this.#buffer.length < 2 + len) break;
      const frame = Buffer.from(this.#buffer.subarray(2, 2 + len));
      this.#buffer = this.#buffer.subarray(2 + len);
      for (const l of this.#listeners) l(frame, this.#remote);
    }
  }
}

/** Connects over TLS (port 5684 by default) and returns the length-prefixed DatagramTransport for the UDP message layer. */
export async function connectLengthPrefixedTransport(
  options: Omit<StreamConnectOptions, 'port'> & { readonly port?: number } & TlsSecurityOptions,
): Promise<LengthPrefixedTransport> {
  // The preview predates RFC 8323 ALPN; offer none unless asked.
  const socket = await openTlsSocket({ alpn: false, ...options, port: options.port ?? 5684 });
  return new LengthPrefixedTransport(socket);
}
