// coaps:// transport: a DatagramTransport over a DTLS 1.2 PSK session (node-dtls-client), with reconnect after a server restart.
import type * as dgram from 'node:dgram';
import * as net from 'node:net';
import { dtls } from 'node-dtls-client';
import { HandshakeMessages, HandshakeType, ServerKeyExchange } from 'node-dtls-client/build/DTLS/Handshake.js';
import { TransportError } from './stream-errors.js';
import type { DatagramTransport, Peer } from './types.js';

/** A DTLS session that failed to start or was lost; the message names the cause, never the key. */
export class DtlsError extends TransportError {}

// node-dtls-client 1.1 (pinned: 2.x is ESM-only and declares Node 22) parses the PSK ServerKeyExchange but leaves it
// out of its message table, so a server that sends one (GnuTLS does, with its identity hint) makes it throw from the
// socket's message handler. 2.0.3 fixed it the same way (its #469): register the message class.
HandshakeMessages[HandshakeType.server_key_exchange] ??= ServerKeyExchange;

export type DtlsCipherSuite = NonNullable<dtls.Options['ciphers']>[number];

export interface DtlsTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly pskIdentity: string;
  readonly pskKey: Uint8Array;
  /** Time allowed for the handshake (node-dtls-client does not retransmit, so this is one attempt). Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Offered suites; LwM2M mandates TLS_PSK_WITH_AES_128_CCM_8, the default. */
  readonly ciphers?: readonly DtlsCipherSuite[];
  /** Local UDP port; ephemeral by default. */
  readonly listenPort?: number;
}

/** A DatagramTransport bound to one DTLS server. */
export interface DtlsTransport extends DatagramTransport {
  /** The server as messages from it are reported (host and port as configured); send requests to this peer. */
  readonly remote: Peer;
  /** True between a completed handshake and the session's end. */
  readonly connected: boolean;
  /** Drops the current session (if any) and handshakes anew, e.g. after the server restarted and lost its state. */
  reconnect(): Promise<void>;
  /** Called when an established session ends without close() (fatal alert, socket error). */
  onError(listener: (err: DtlsError) => void): void;
}

function dtlsErrorFrom(err: unknown, where: string, handshakeDone: boolean): DtlsError {
  // node-dtls-client reports plain Errors with fixed English texts; map them to a failure kind and keep only what we wrote.
  const text = err instanceof Error ? err.message : '';
  const alert = /received fatal alert: (\w+)/.exec(text)?.[1];
  if (alert !== undefined) {
    return new DtlsError(handshakeDone ? 'alert' : 'handshake', `${where}: ${handshakeDone ? 'fatal alert' : 'handshake refused'} (${alert})`, alert);
  }
  if (/timed out/.test(text)) return new DtlsError('timeout', `${where}: ${handshakeDone ? 'connection' : 'handshake'} timed out`);
  const code = err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
  return new DtlsError(handshakeDone ? 'network' : 'handshake', `${where}: ${handshakeDone ? 'session lost' : 'handshake failed'}${code ? ` (${code})` : ''}`, code);
}

/** A copy of a small Buffer outside Node's 8 KB pool, so keeping it does not keep the pool slab it was cut from. */
function unpooled(b: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
}

/** The parts of node-dtls-client 1.1's socket (pinned) that a finished handshake leaves behind. */
interface SessionInternals {
  handshakeHandler?: { allHandshakeData?: unknown[]; lastFlight?: unknown[]; incompleteMessages?: unknown[]; completeMessages?: object };
  recordLayer?: { epochs?: Array<{ connectionState?: Record<string, unknown> & { key_material?: Record<string, unknown> } } | undefined> };
}

/**
 * After the handshake: drops the handshake messages the library keeps (only a new handshake uses them, and it starts
 * afresh) and moves the session's keys and randoms out of the Buffer pool, where each small Buffer pinned an 8 KB
 * slab. A fleet of DTLS devices keeps about 10 KB less per device; the session works as before.
 */
function compactSession(socket: dtls.Socket): void {
  const s = socket as unknown as SessionInternals;
  const h = s.handshakeHandler;
  if (h && Array.isArray(h.allHandshakeData)) {
    h.allHandshakeData = [];
    h.lastFlight = [];
    h.incompleteMessages = [];
    h.completeMessages = {};
  }
  for (const epoch of s.recordLayer?.epochs ?? []) {
    const state = epoch?.connectionState;
    if (!state) continue;
    for (const [k, v] of Object.entries(state)) if (Buffer.isBuffer(v)) state[k] = unpooled(v);
    const keys = state.key_material;
    if (keys) for (const [k, v] of Object.entries(keys)) if (Buffer.isBuffer(v)) keys[k] = unpooled(v);
  }
}

class DtlsTransportImpl implements DtlsTransport {
  readonly remote: Peer;
  readonly #options: DtlsTransportOptions;
  readonly #where: string;
  readonly #listeners: ((data: Uint8Array, peer: Peer) => void)[] = [];
  readonly #errorListeners: ((err: DtlsError) => void)[] = [];
  #socket: dtls.Socket | undefined;
  #connected = false;
  #closed = false;
  #local: Peer = { address: '0.0.0.0', port: 0 };

  constructor(options: DtlsTransportOptions) {
    this.#options = options;
    this.remote = { address: options.host, port: options.port };
    this.#where = `dtls ${options.host}:${options.port}`;
  }

  get connected(): boolean {
    return this.#connected;
  }

  connect(): Promise<void> {
    const o = this.#options;
    if (o.pskKey.length === 0) return Promise.reject(new DtlsError('handshake', `${this.#where}: the PSK key is empty`));
    if (o.pskIdentity.length === 0) return Promise.reject(new DtlsError('handshake', `${this.#where}: the PSK identity is empty`));
    return new Promise<void>((resolve, reject) => {
      let handshakeDone = false;
      let socket: dtls.Socket;
      try {
        socket = dtls.createSocket({
          type: net.isIPv6(o.host) ? 'udp6' : 'udp4',
          address: o.host,
          port: o.port,
          // node-dtls-client 1.x takes the key as a string it reads back with Buffer.from(…, 'ascii'), which is
          // latin1: one char per byte, so any binary key survives the round trip.
          psk: { [o.pskIdentity]: Buffer.from(o.pskKey).toString('latin1') },
          timeout: o.timeoutMs ?? 5_000,
          ciphers: [...(o.ciphers ?? ['TLS_PSK_WITH_AES_128_CCM_8'])],
          ...(o.listenPort === undefined ? {} : { listenPort: o.listenPort }),
        });
      } catch {
        // Option validation errors from the library; its texts do not include the key but we do not pass them on.
        reject(new DtlsError('handshake', `${this.#where}: invalid DTLS options`));
        return;
      }
      this.#socket = socket;
      socket.on('connected', () => {
        handshakeDone = true;
        this.#connected = true;
        // The socket hides its UDP handle; read the local address through it when present.
        const udp = (socket as unknown as { udp?: dgram.Socket }).udp;
        try {
          const a = udp?.address();
          if (a) this.#local = { address: a.address, port: a.port };
        } catch {
          // not bound: keep the placeholder
        }
        // The library stores the Finished message after this event: compact once it is done with the handshake.
        setImmediate(() => compactSession(socket));
        resolve();
      });
      socket.on('message', (msg: Buffer) => {
        if (this.#socket !== socket) return;
        const data = new Uint8Array(msg);
        for (const l of this.#listeners) l(data, this.remote);
      });
      socket.on('error', (err: Error) => {
        const e = dtlsErrorFrom(err, this.#where, handshakeDone);
        if (this.#socket === socket) this.#connected = false;
        if (!handshakeDone) reject(e);
        else if (this.#socket === socket && !this.#closed) for (const l of this.#errorListeners) l(e);
      });
      socket.on('close', () => {
        if (this.#socket === socket) this.#connected = false;
        if (!handshakeDone) reject(new DtlsError('handshake', `${this.#where}: closed during the handshake`));
      });
    });
  }

  send(data: Uint8Array, _peer: Peer): Promise<void> {
    const socket = this.#socket;
    if (!this.#connected || socket === undefined) {
      return Promise.reject(new DtlsError('closed', `${this.#where}: no DTLS session`));
    }
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(Buffer.from(data), (err) => (err ? reject(dtlsErrorFrom(err, this.#where, true)) : resolve()));
      } catch (err) {
        reject(dtlsErrorFrom(err, this.#where, true));
      }
    });
  }

  onMessage(listener: (data: Uint8Array, peer: Peer) => void): void {
    this.#listeners.push(listener);
  }

  onError(listener: (err: DtlsError) => void): void {
    this.#errorListeners.push(listener);
  }

  address(): Peer {
    return this.#local;
  }

  async reconnect(): Promise<void> {
    if (this.#closed) throw new DtlsError('closed', `${this.#where}: the transport is closed`);
    await this.#dropSocket();
    await this.connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#dropSocket();
  }

  #dropSocket(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#connected = false;
    if (socket === undefined) return Promise.resolve();
    // The library's close() assumes a finished handshake and a live socket (it throws from a callback otherwise),
    // so look at its state first: dead → nothing to do, mid-handshake → kill the UDP socket without an alert.
    const state = socket as unknown as { _isClosed?: boolean; _handshakeFinished?: boolean; killConnection?: (err?: Error) => void };
    if (state._isClosed === true) return Promise.resolve();
    if (state._handshakeFinished !== true) {
      try {
        state.killConnection?.();
      } catch {
        // already gone
      }
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      try {
        socket.close(() => { clearTimeout(timer); resolve(); });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/**
 * Opens a DTLS 1.2 PSK session to host:port and resolves once the handshake is done. Handshake failures,
 * timeouts and alerts reject with DtlsError; its message and fields never contain the key.
 */
export async function createDtlsTransport(options: DtlsTransportOptions): Promise<DtlsTransport> {
  const t = new DtlsTransportImpl(options);
  try {
    await t.connect();
  } catch (err) {
    await t.close();
    throw err;
  }
  return t;
}
