// A DTLS 1.2 PSK server on one UDP socket (RFC 6347, TLS_PSK_WITH_AES_128_CCM_8 of RFC 6655/7925): the transport of a coaps:// test server.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as dgram from 'node:dgram';
import type { DatagramTransport, Peer } from 'lwm2m-gen/runtime';

const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;
const HANDSHAKE = { clientHello: 1, serverHello: 2, helloVerifyRequest: 3, serverHelloDone: 14, clientKeyExchange: 16, finished: 20 } as const;
const ALERT = { closeNotify: 0, badRecordMac: 20, decryptError: 51, handshakeFailure: 40, unknownPskIdentity: 115 } as const;
const DTLS12 = 0xfefd;
/** TLS_PSK_WITH_AES_128_CCM_8, the suite LwM2M (via RFC 7925) makes mandatory for PSK. */
const PSK_AES_128_CCM_8 = 0xc0a8;
const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const TAG = 8;
const EXPLICIT_NONCE = 8;

/** Options of a DTLS-PSK server. */
export interface DtlsServerOptions {
  /** The keys the server accepts, by PSK identity. */
  readonly psk: Readonly<Record<string, Uint8Array>>;
  readonly address?: string;
  readonly port?: number;
}

/** A DTLS handshake that failed, as the server reports it (no key material, only the identity when one was sent). */
export interface DtlsHandshakeFailure {
  readonly peer: Peer;
  readonly reason: string;
  readonly identity?: string;
}

interface Keys {
  readonly key: Buffer;
  readonly iv: Buffer;
}

interface Session {
  readonly peer: Peer;
  readonly clientRandom: Buffer;
  readonly serverRandom: Buffer;
  /** Handshake messages so far, as the Finished hash covers them (from the ClientHello with the cookie on). */
  readonly transcript: Buffer[];
  nextMessageSeq: number;
  master?: Buffer;
  client?: Keys;
  server?: Keys;
  readEpoch: number;
  writeSeq: number;
  /** The last flight sent, resent when the client repeats the message that asked for it. */
  lastFlight: Buffer[];
  open: boolean;
}

const key = (p: Peer): string => `${p.address}|${p.port}`;

function hmac(secret: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** The TLS 1.2 PRF (P_SHA256), RFC 5246 §5. */
function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a: Buffer = labelSeed;
  for (let n = 0; n < length; n += 32) {
    a = hmac(secret, a);
    out.push(hmac(secret, Buffer.concat([a, labelSeed])));
  }
  return Buffer.concat(out).subarray(0, length);
}

function uint(value: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
}

function record(type: number, epoch: number, seq: number, fragment: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), uint(DTLS12, 2), uint(epoch, 2), uint(seq, 6), uint(fragment.length, 2), fragment]);
}

function handshakeMessage(type: number, messageSeq: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), uint(body.length, 3), uint(messageSeq, 2), uint(0, 3), uint(body.length, 3), body]);
}

function nonceAndAad(keys: Keys, epoch: number, seq: number, type: number, length: number): { nonce: Buffer; explicit: Buffer; aad: Buffer } {
  const explicit = Buffer.concat([uint(epoch, 2), uint(seq, 6)]);
  return {
    explicit, nonce: Buffer.concat([keys.iv, explicit]),
    aad: Buffer.concat([explicit, Buffer.from([type]), uint(DTLS12, 2), uint(length, 2)]),
  };
}

function encrypt(keys: Keys, epoch: number, seq: number, type: number, plaintext: Buffer): Buffer {
  const { nonce, explicit, aad } = nonceAndAad(keys, epoch, seq, type, plaintext.length);
  const cipher = createCipheriv('aes-128-ccm', keys.key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([explicit, body, cipher.getAuthTag()]);
}

function decrypt(keys: Keys, epoch: number, seq: number, type: number, fragment: Buffer): Buffer | undefined {
  if (fragment.length < EXPLICIT_NONCE + TAG) return undefined;
  const body = fragment.subarray(EXPLICIT_NONCE, fragment.length - TAG);
  const nonce = Buffer.concat([keys.iv, fragment.subarray(0, EXPLICIT_NONCE)]);
  const aad = Buffer.concat([uint(epoch, 2), uint(seq, 6), Buffer.from([type]), uint(DTLS12, 2), uint(body.length, 2)]);
  try {
    const decipher = createDecipheriv('aes-128-ccm', keys.key, nonce, { authTagLength: TAG });
    decipher.setAuthTag(fragment.subarray(fragment.length - TAG));
    decipher.setAAD(aad, { plaintextLength: body.length });
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Reads a vector with a length prefix of `bytes` at `offset`; undefined when it runs past the end. */
function vector(b: Buffer, offset: number, bytes: number): { value: Buffer; end: number } | undefined {
  if (offset + bytes > b.length) return undefined;
  const len = b.readUIntBE(offset, bytes);
  const end = offset + bytes + len;
  return end > b.length ? undefined : { value: b.subarray(offset + bytes, end), end };
}

/**
 * The server side of DTLS 1.2 with pre-shared keys, enough for LwM2M devices under test: a stateless cookie exchange
 * (HelloVerifyRequest), the PSK key exchange without an identity hint, AES-128-CCM-8 records, close_notify, and the
 * last flight resent when a client repeats itself. Not offered: other suites, renegotiation, resumption, fragmented
 * handshake messages. Each peer's session carries the CoAP datagrams of that peer.
 */
export class DtlsPskServer implements DatagramTransport {
  readonly #socket: dgram.Socket;
  readonly #psk: ReadonlyMap<string, Buffer>;
  readonly #sessions = new Map<string, Session>();
  readonly #listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];
  readonly #cookieSecret = randomBytes(32);
  /** Handshakes that failed (unknown identity, bad Finished, no common suite), in order. */
  readonly failures: DtlsHandshakeFailure[] = [];
  #epoch0Seq = 0;

  private constructor(socket: dgram.Socket, psk: ReadonlyMap<string, Buffer>) {
    this.#socket = socket;
    this.#psk = psk;
    socket.on('message', (msg, rinfo) => this.#receive(msg, { address: rinfo.address, port: rinfo.port }));
  }

  /** Binds the UDP socket (127.0.0.1, an ephemeral port by default). */
  static async start(options: DtlsServerOptions): Promise<DtlsPskServer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, options.address ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const psk = new Map(Object.entries(options.psk).map(([id, k]) => [id, Buffer.from(k)]));
    return new DtlsPskServer(socket, psk);
  }

  /** Peers with an established session. */
  get sessions(): Peer[] {
    return [...this.#sessions.values()].filter((s) => s.open).map((s) => s.peer);
  }

  send(data: Uint8Array, peer: Peer): void {
    const s = this.#sessions.get(key(peer));
    if (!s?.open) return;
    this.#sendRecords(peer, [this.#protect(s, CONTENT.applicationData, Buffer.from(data))]);
  }

  onMessage(listener: (data: Uint8Array, peer: Peer) => void): void {
    this.#listeners.push(listener);
  }

  address(): Peer {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    for (const s of this.#sessions.values()) if (s.open) this.#alert(s, ALERT.closeNotify, 1);
    this.#sessions.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #sendRecords(peer: Peer, records: Buffer[]): void {
    this.#socket.send(Buffer.concat(records), peer.port, peer.address);
  }

  #plain(type: number, fragment: Buffer): Buffer {
    return record(type, 0, this.#epoch0Seq++, fragment);
  }

  #protect(s: Session, type: number, plaintext: Buffer): Buffer {
    const seq = s.writeSeq++;
    return record(type, 1, seq, encrypt(s.server!, 1, seq, type, plaintext));
  }

  #alert(s: Session, description: number, level = 2): void {
    const body = Buffer.from([level, description]);
    this.#sendRecords(s.peer, [s.server ? this.#protect(s, CONTENT.alert, body) : this.#plain(CONTENT.alert, body)]);
  }

  #fail(s: Session, reason: string, alert: number, identity?: string): void {
    this.failures.push(identity === undefined ? { peer: s.peer, reason } : { peer: s.peer, reason, identity });
    this.#alert(s, alert);
    this.#sessions.delete(key(s.peer));
  }

  #receive(datagram: Buffer, peer: Peer): void {
    for (let off = 0; off + RECORD_HEADER <= datagram.length;) {
      const type = datagram[off]!;
      const epoch = datagram.readUInt16BE(off + 3);
      const seq = datagram.readUIntBE(off + 5, 6);
      const length = datagram.readUInt16BE(off + 11);
      const fragment = datagram.subarray(off + RECORD_HEADER, off + RECORD_HEADER + length);
      off += RECORD_HEADER + length;
      if (fragment.length !== length) return;
      this.#record(peer, type, epoch, seq, fragment);
    }
  }

  #record(peer: Peer, type: number, epoch: number, seq: number, fragment: Buffer): void {
    const s = this.#sessions.get(key(peer));
    if (epoch === 0) {
      if (type === CONTENT.handshake) this.#handshake(peer, s, fragment);
      else if (type === CONTENT.changeCipherSpec && s?.client) s.readEpoch = 1;
      return;
    }
    if (!s?.client || epoch !== 1) return;
    const plain = decrypt(s.client, epoch, seq, type, fragment);
    if (!plain) {
      // Records that fail authentication are dropped (RFC 6347 §4.1.2.7), but a Finished that does not is a wrong key.
      if (!s.open && type === CONTENT.handshake) this.#fail(s, 'the client Finished does not decrypt (a wrong key for the identity)', ALERT.badRecordMac);
      return;
    }
    if (type === CONTENT.applicationData && s.open) {
      const data = new Uint8Array(plain);
      for (const l of this.#listeners) l(data, peer);
    } else if (type === CONTENT.handshake) this.#clientFinished(s, plain);
    else if (type === CONTENT.alert && plain[1] === ALERT.closeNotify) this.#sessions.delete(key(peer));
  }

  #handshake(peer: Peer, existing: Session | undefined, fragment: Buffer): void {
    if (fragment.length < HANDSHAKE_HEADER) return;
    const msgType = fragment[0]!;
    const length = fragment.readUIntBE(1, 3);
    const messageSeq = fragment.readUInt16BE(4);
    const fragmentLength = fragment.readUIntBE(9, 3);
    // Handshake messages come whole here (a PSK client's are small); a fragmented one is not reassembled.
    if (fragment.readUIntBE(6, 3) !== 0 || fragmentLength !== length || fragment.length < HANDSHAKE_HEADER + length) return;
    const body = fragment.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + length);
    const whole = fragment.subarray(0, HANDSHAKE_HEADER + length);
    if (msgType === HANDSHAKE.clientHello) this.#clientHello(peer, existing, body, whole, messageSeq);
    else if (msgType === HANDSHAKE.clientKeyExchange && existing && !existing.client) this.#clientKeyExchange(existing, body, whole);
  }

  #cookie(peer: Peer, clientRandom: Buffer): Buffer {
    return hmac(this.#cookieSecret, Buffer.concat([Buffer.from(key(peer)), clientRandom])).subarray(0, 16);
  }

  #clientHello(peer: Peer, existing: Session | undefined, body: Buffer, whole: Buffer, messageSeq: number): void {
    if (body.length < 34) return;
    const clientRandom = body.subarray(2, 34);
    const sessionId = vector(body, 34, 1);
    const cookie = sessionId && vector(body, sessionId.end, 1);
    const suites = cookie && vector(body, cookie.end, 2);
    if (!suites) return;
    const expected = this.#cookie(peer, clientRandom);
    if (cookie.value.length !== expected.length || !timingSafeEqual(cookie.value, expected)) {
      // Stateless: nothing is kept until the client proves it receives at its address (RFC 6347 §4.2.1).
      const hvr = Buffer.concat([uint(DTLS12, 2), Buffer.from([expected.length]), expected]);
      this.#sendRecords(peer, [this.#plain(CONTENT.handshake, handshakeMessage(HANDSHAKE.helloVerifyRequest, messageSeq, hvr))]);
      return;
    }
    if (existing && existing.clientRandom.equals(clientRandom) && !existing.open) {
      this.#sendRecords(peer, existing.lastFlight);
      return;
    }
    const s: Session = {
      peer, clientRandom: Buffer.from(clientRandom), serverRandom: randomBytes(32), transcript: [Buffer.from(whole)],
      nextMessageSeq: messageSeq, readEpoch: 0, writeSeq: 0, lastFlight: [], open: false,
    };
    this.#sessions.set(key(peer), s);
    const offered = new Set<number>();
    for (let i = 0; i + 1 < suites.value.length; i += 2) offered.add(suites.value.readUInt16BE(i));
    if (!offered.has(PSK_AES_128_CCM_8)) {
      this.#fail(s, 'the client offers no TLS_PSK_WITH_AES_128_CCM_8', ALERT.handshakeFailure);
      return;
    }
    const hello = handshakeMessage(HANDSHAKE.serverHello, s.nextMessageSeq++, Buffer.concat([
      uint(DTLS12, 2), s.serverRandom, Buffer.from([0]), uint(PSK_AES_128_CCM_8, 2), Buffer.from([0]),
    ]));
    const done = handshakeMessage(HANDSHAKE.serverHelloDone, s.nextMessageSeq++, Buffer.alloc(0));
    s.transcript.push(hello, done);
    s.lastFlight = [this.#plain(CONTENT.handshake, hello), this.#plain(CONTENT.handshake, done)];
    this.#sendRecords(peer, s.lastFlight);
  }

  #clientKeyExchange(s: Session, body: Buffer, whole: Buffer): void {
    const id = vector(body, 0, 2);
    if (!id) return;
    const identity = id.value.toString('utf8');
    const psk = this.#psk.get(identity);
    if (!psk) {
      this.#fail(s, 'unknown PSK identity', ALERT.unknownPskIdentity, identity);
      return;
    }
    s.transcript.push(Buffer.from(whole));
    const premaster = Buffer.concat([uint(psk.length, 2), Buffer.alloc(psk.length), uint(psk.length, 2), psk]);
    s.master = prf(premaster, 'master secret', Buffer.concat([s.clientRandom, s.serverRandom]), 48);
    const block = prf(s.master, 'key expansion', Buffer.concat([s.serverRandom, s.clientRandom]), 40);
    s.client = { key: block.subarray(0, 16), iv: block.subarray(32, 36) };
    s.server = { key: block.subarray(16, 32), iv: block.subarray(36, 40) };
  }

  #clientFinished(s: Session, plain: Buffer): void {
    if (s.open) {
      // The client did not get our Finished and repeats its own: send ours again.
      this.#sendRecords(s.peer, s.lastFlight);
      return;
    }
    if (plain.length !== HANDSHAKE_HEADER + 12 || plain[0] !== HANDSHAKE.finished || s.readEpoch !== 1) return;
    const transcript = (): Buffer => createHash('sha256').update(Buffer.concat(s.transcript)).digest();
    const expected = prf(s.master!, 'client finished', transcript(), 12);
    if (!timingSafeEqual(plain.subarray(HANDSHAKE_HEADER), expected)) {
      this.#fail(s, 'the client Finished does not verify (a wrong key for the identity)', ALERT.decryptError);
      return;
    }
    s.transcript.push(plain);
    const finished = handshakeMessage(HANDSHAKE.finished, s.nextMessageSeq++, prf(s.master!, 'server finished', transcript(), 12));
    s.lastFlight = [this.#plain(CONTENT.changeCipherSpec, Buffer.from([1])), this.#protect(s, CONTENT.handshake, finished)];
    s.open = true;
    this.#sendRecords(s.peer, s.lastFlight);
  }
}
