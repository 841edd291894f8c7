// What RFC 8323 changes in block-wise for TCP/TLS, as a BlockProfile: sizes from the peer's CSM Max-Message-Size, BERT when both offered it.
import { BERT_SZX, type BlockProfile } from './blocks.js';
import { blockSizeOf } from './message.js';
import { frameOverhead } from './stream-codec.js';
import type { RawOption } from './types.js';

/** RFC 8323 §5.3.1: the Max-Message-Size in force before the peer's CSM says otherwise. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1152;
/** A BERT block never exceeds this, whatever the peer takes, so one message stays a bounded piece of memory. */
const MAX_BERT_BYTES = 64 * 1024;
/** Room for the Block and Size options the core adds to a message it sizes (each at most 1 + 4 bytes of value). */
const BLOCK_OPTIONS = 16;

/** An upper bound of the options-and-payload length of a message (4 header bytes per option + value, marker + payload). */
export function bodyLength(options: readonly RawOption[], payloadLength: number): number {
  let n = payloadLength > 0 ? payloadLength + 1 : 0;
  for (const o of options) n += 5 + o.value.length;
  return n;
}

/** The two ends' CSM facts the profile reads; they change when a CSM arrives. */
export interface CsmState {
  /** Our own: block-wise offered, the largest SZX we split at (0..6), BERT offered. */
  readonly ours: { readonly blockWise: boolean; readonly szx: number; readonly bert: boolean };
  /** The peer's, defaults until its CSM arrives. */
  peer(): { readonly maxMessageSize: number; readonly blockWise: boolean };
}

/** Whether both sides offered BERT: Block-Wise-Transfer with a Max-Message-Size above 1152 (RFC 8323 §5.3.2, §6). */
export function bertAgreed(csm: CsmState): boolean {
  const peer = csm.peer();
  return csm.ours.bert && csm.ours.blockWise && peer.blockWise && peer.maxMessageSize > DEFAULT_MAX_MESSAGE_SIZE;
}

/** The block profile of one RFC 8323 connection. */
export function streamBlockProfile(csm: CsmState): BlockProfile {
  const fitsPeer = (options: readonly RawOption[], length: number): boolean => {
    const body = bodyLength(options, length) + BLOCK_OPTIONS;
    return frameOverhead(body, 8) + body <= csm.peer().maxMessageSize;
  };
  const bertBytes = (options: readonly RawOption[]): number => {
    const overhead = bodyLength(options, 0) + BLOCK_OPTIONS + 1 + frameOverhead(MAX_BERT_BYTES, 8);
    const k = Math.floor((Math.min(csm.peer().maxMessageSize, MAX_BERT_BYTES + overhead) - overhead) / 1024);
    return Math.max(1, k) * 1024;
  };
  return {
    fits: fitsPeer,
    splitSzx(options) {
      if (bertAgreed(csm) && fitsPeer(options, 2048)) return BERT_SZX;
      // The largest block that, with the options and framing, fits the peer's Max-Message-Size.
      for (let szx = csm.ours.szx; szx > 0; szx--) if (fitsPeer(options, blockSizeOf(szx))) return szx;
      return 0;
    },
    bertBytes,
    get maxSzx() {
      return bertAgreed(csm) ? BERT_SZX : csm.ours.szx;
    },
    get splitRequests() {
      return csm.ours.blockWise && csm.peer().blockWise;
    },
  };
}
