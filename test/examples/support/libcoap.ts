// The example's interop tests' view of libcoap: the shared launcher (test/support/libcoap.ts) plus a stop() per server.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { startLibcoap as startShared, stopLibcoap } from '../../support/libcoap.js';

/** The example's suites need the resource directory (coap-rd), not only coap-server. */
export const haveLibcoap = spawnSync('which', ['coap-rd-gnutls']).status === 0;

export interface LibcoapServer {
  readonly proc: ChildProcess;
  /** Plain port (UDP and TCP); the secure ones (DTLS, TLS) are port + 1. */
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a libcoap binary on PORT (plain) and PORT+1 (secure), retrying with another port when it cannot bind. */
export async function startLibcoap(binary: string, args: (port: number) => string[]): Promise<LibcoapServer> {
  const { proc, port } = await startShared(binary, args);
  return { proc, port, stop: () => stopLibcoap(proc) };
}
