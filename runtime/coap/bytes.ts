// Small byte and key helpers the message layer's maps share: hex tokens, byte equality, peer keys.
import type { Peer } from './types.js';

/** Hex of a token or payload, for map keys. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A peer as a map key. */
export function peerKey(peer: Peer): string {
  return `${peer.address}|${peer.port}`;
}
