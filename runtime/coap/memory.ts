// An in-process datagram network for tests: transports that deliver to each other without sockets, with loss control.
import type { DatagramTransport, Peer } from './types.js';

/** Decides whether a datagram is delivered (true) or lost (false). */
export type DeliveryFilter = (data: Uint8Array, from: Peer, to: Peer) => boolean;

export class MemoryNetwork {
  private readonly nodes = new Map<string, (data: Uint8Array, from: Peer) => void>();
  private nextPort = 40000;
  /** Every datagram sent, delivered or not, in order. */
  readonly log: Array<{ data: Uint8Array; from: Peer; to: Peer; delivered: boolean }> = [];
  filter: DeliveryFilter = () => true;

  createTransport(address = '10.0.0.1', port?: number): DatagramTransport {
    const local: Peer = { address, port: port ?? this.nextPort++ };
    const key = `${local.address}|${local.port}`;
    const listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];
    this.nodes.set(key, (data, from) => {
      for (const l of listeners) l(data, from);
    });
    return {
      send: (data, to) => {
        const copy = Uint8Array.from(data);
        const target = this.nodes.get(`${to.address}|${to.port}`);
        const delivered = target !== undefined && this.filter(copy, local, to);
        this.log.push({ data: copy, from: local, to, delivered });
        // Deliver on a microtask, like a socket would on a later tick, so no handler runs re-entrantly.
        if (delivered) queueMicrotask(() => target(copy, local));
      },
      onMessage: (listener) => {
        listeners.push(listener);
      },
      address: () => local,
      close: async () => {
        this.nodes.delete(key);
      },
    };
  }
}
