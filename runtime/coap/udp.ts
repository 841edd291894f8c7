// The UDP datagram transport: one node:dgram socket behind the DatagramTransport face the message layer runs on.
import dgram from 'node:dgram';
import net from 'node:net';
import { createCoapEndpoint, type CoapEndpointOptions, type TransmissionParameters } from './endpoint.js';
import type { CoapEndpoint, DatagramTransport, Peer } from './types.js';

export interface UdpTransportOptions {
  /** 0 or absent: an ephemeral port. */
  readonly port?: number;
  /** Absent: all interfaces of the socket type. */
  readonly address?: string;
  readonly type?: 'udp4' | 'udp6';
}

type Listener = (data: Uint8Array, peer: Peer) => void;

/** Socket errors after binding (e.g. ICMP unreachable surfacing on some platforms) must not crash the process. */
const ignore = (): void => undefined;

/**
 * One bound socket. A class with one 'message' handler per socket and the usual single listener held as it is: a
 * fleet holds a transport per device, so what each one keeps is kept small.
 */
class UdpTransport implements DatagramTransport {
  #listeners: Listener | Listener[] | undefined;
  #closed = false;
  readonly #local: Peer;

  constructor(
    readonly socket: dgram.Socket,
    readonly type: 'udp4' | 'udp6',
  ) {
    socket.on('error', ignore);
    socket.on('message', (msg, rinfo) => this.#receive(msg, rinfo));
    const bound = socket.address();
    this.#local = { address: bound.address, port: bound.port };
  }

  #receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const peer: Peer = { address: rinfo.address, port: rinfo.port };
    const listeners = this.#listeners;
    if (typeof listeners === 'function') deliver(listeners, data, peer);
    else if (listeners) for (const listener of listeners) deliver(listener, data, peer);
  }

  send(data: Uint8Array, peer: Peer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // A udp6 socket reaches IPv4 peers only through IPv4-mapped addresses.
      const address = this.type === 'udp6' && net.isIPv4(peer.address) ? `::ffff:${peer.address}` : peer.address;
      this.socket.send(data, peer.port, address, (err) => (err ? reject(err) : resolve()));
    });
  }

  onMessage(listener: Listener): void {
    const l = this.#listeners;
    this.#listeners = l === undefined ? listener : typeof l === 'function' ? [l, listener] : [...l, listener];
  }

  address(): Peer {
    return this.#local;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

function deliver(listener: Listener, data: Uint8Array, peer: Peer): void {
  try {
    listener(data, peer);
  } catch {
    // A listener's failure must not stop the socket; the message layer reports its own errors.
  }
}

export async function createUdpTransport(options: UdpTransportOptions = {}): Promise<DatagramTransport> {
  const type = options.type ?? (options.address !== undefined && net.isIPv6(options.address) ? 'udp6' : 'udp4');
  const socket = dgram.createSocket({ type });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind(options.port ?? 0, options.address ?? (type === 'udp6' ? '::' : '0.0.0.0'), () => {
      socket.off('error', onError);
      resolve();
    });
  });
  return new UdpTransport(socket, type);
}

/** A CoAP endpoint on its own UDP socket. */
export async function createUdpEndpoint(
  options: { readonly port?: number; readonly address?: string; readonly type?: 'udp4' | 'udp6' } & CoapEndpointOptions = {},
): Promise<CoapEndpoint & { readonly parameters: TransmissionParameters }> {
  const transport = await createUdpTransport({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.address !== undefined ? { address: options.address } : {}),
    ...(options.type !== undefined ? { type: options.type } : {}),
  });
  return createCoapEndpoint(transport, options);
}
