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

export async function createUdpTransport(options: UdpTransportOptions = {}): Promise<DatagramTransport> {
  const type = options.type ?? (options.address !== undefined && net.isIPv6(options.address) ? 'udp6' : 'udp4');
  const socket = dgram.createSocket({ type });
  const listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];
  let closed = false;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind(options.port ?? 0, options.address ?? (type === 'udp6' ? '::' : '0.0.0.0'), () => {
      socket.off('error', onError);
      resolve();
    });
  });
  // After binding, socket errors (e.g. ICMP unreachable surfacing on some platforms) must not crash the process.
  socket.on('error', () => undefined);
  socket.on('message', (msg, rinfo) => {
    const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const peer: Peer = { address: rinfo.address, port: rinfo.port };
    for (const listener of listeners) {
      try {
        listener(data, peer);
      } catch {
        // A listener's failure must not stop the socket; the message layer reports its own errors.
      }
    }
  });
  const bound = socket.address();
  const local: Peer = { address: bound.address, port: bound.port };

  return {
    send(data, peer) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        // A udp6 socket reaches IPv4 peers only through IPv4-mapped addresses.
        const address = type === 'udp6' && net.isIPv4(peer.address) ? `::ffff:${peer.address}` : peer.address;
        socket.send(data, peer.port, address, (err) => (err ? reject(err) : resolve()));
      });
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    address: () => local,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
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
