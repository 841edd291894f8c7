// How a transport sizes block-wise transfers (RFC 7959, BERT of RFC 8323 §6) for the exchange core: the one place block sizes are decided.
import { blockSizeOf } from './message.js';
import type { RawOption } from './types.js';

/** SZX 7: over TCP/TLS a BERT block, a multiple of 1024 bytes (RFC 8323 §6); reserved over UDP. */
export const BERT_SZX = 7;

/**
 * What the exchange core asks a transport about sizes. UDP and DTLS answer with one configured block size;
 * TCP and TLS with what fits the peer's Max-Message-Size from its CSM, and BERT when both sides offered it.
 */
export interface BlockProfile {
  /** Whether a message with these options and a payload of `length` bytes goes as one message. */
  fits(options: readonly RawOption[], length: number): boolean;
  /** The SZX this side splits a message with these options at: 0..6, or 7 for BERT. */
  splitSzx(options: readonly RawOption[]): number;
  /** Payload bytes of one BERT block with these options: a multiple of 1024 that fits the peer. */
  bertBytes(options: readonly RawOption[]): number;
  /** The largest SZX this side takes from the peer and answers with (7 when BERT was agreed). */
  readonly maxSzx: number;
  /** Whether a request too large for one message is sent block by block (false: sent whole, the peer announced no block-wise). */
  readonly splitRequests: boolean;
}

/** Bytes one unit of block number NUM stands for: the block size, 1024 for BERT. */
export function unitOf(szx: number): number {
  return blockSizeOf(szx === BERT_SZX ? 6 : szx);
}

/** Payload bytes of one block at `szx` for a message with these options. */
export function blockBytes(profile: BlockProfile, szx: number, options: readonly RawOption[]): number {
  return szx === BERT_SZX ? profile.bertBytes(options) : blockSizeOf(szx);
}

/** Whether a block of `length` bytes that is not the last has a valid size at `szx` (BERT: a positive multiple of 1024). */
export function fullBlock(szx: number, length: number): boolean {
  return szx === BERT_SZX ? length > 0 && length % 1024 === 0 : length === blockSizeOf(szx);
}

/** The fixed profiles made so far, by SZX: every UDP and DTLS endpoint of a size shares one. */
const fixedProfiles = new Map<number, BlockProfile>();

/** One block size for every message (UDP, DTLS): whole up to a block, split at that block, no BERT. */
export function fixedBlockProfile(szx: number): BlockProfile {
  let profile = fixedProfiles.get(szx);
  if (!profile) fixedProfiles.set(szx, (profile = makeFixedProfile(szx)));
  return profile;
}

function makeFixedProfile(szx: number): BlockProfile {
  const size = blockSizeOf(szx);
  return {
    fits: (_options, length) => length <= size,
    splitSzx: () => szx,
    bertBytes: () => size,
    maxSzx: szx,
    splitRequests: true,
  };
}
