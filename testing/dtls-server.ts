// The server side of DTLS 1.2 with PSK (TLS_PSK_WITH_AES_128_CCM_8, the LwM2M mandatory suite) as a DatagramTransport over UDP.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createUdpTransport, type DatagramTransport, type Peer } from 'lwm2m-gen/runtime';

/** Options of {@link createDtlsPskServerTransport}. */
export interface DtlsPskServerOptions {
  readonly address?: string;
  readonly port?: number;
  /** The key of a PSK identity, or undefined for an identity the server does not know (the handshake then fails). */
  readonly psk: (identity: string) => Uint8Array | undefined;
  /** Called for each finished handshake and each one refused; the reason never holds a key. */
  readonly onHandshake?: (event: { readonly peer: Peer; readonly identity: string | undefined; readonly ok: boolean; readonly reason?: string }) => void;
}

const CT = { ChangeCipherSpec: 20, Alert: 21, Handshake: 22, ApplicationData: 23 } as const;
const HT = { ClientHello: 1, ServerHello: 2, HelloVerifyRequest: 3, ServerHelloDone: 14, ClientKeyExchange: 16, Finished: 20 } as const;
const DTLS12 = 0xfefd;
const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;
const RENEGOTIATION_INFO = 0xff01;
const ALERT = { closeNotify: 0, badRecordMac: 20, handshakeFailure: 40, decryptError: 51, unknownPskIdentity: 115 } as const;

function hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** The TLS 1.2 PRF with SHA-256 (RFC 5246 §5). */
function prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a: Buffer = labelSeed;
  let size = 0;
  while (size < length) {
    a = hmac(secret, a);
    const block = hmac(secret, a, labelSeed);
    out.push(block);
    size += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** A reader over one message that throws on a short read (a malformed message ends the handshake). */
class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.bytes(1)[0]!;
  }
  u16(): number {
    return this.bytes(2).readUInt16BE();
  }
  u24(): number {
    const b = this.bytes(3);
    return (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  }
  bytes(n: number): Buffer {
    if (this.#at + n > this.buf.length) throw new Error('truncated message');
    const b = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }
  vector(lengthBytes: 1 | 2): Buffer {
    return this.bytes(lengthBytes === 1 ? this.u8() : this.u16());
  }
  get left(): number {
    return this.buf.length - this.#at;
  }
}

interface Keys {
  readonly clientKey: Buffer;
  readonly serverKey: Buffer;
  readonly clientIv: Buffer;
  readonly serverIv: Buffer;
}

interface Session {
  readonly peer: Peer;
  readonly clientRandom: Buffer;
  readonly serverRandom: Buffer;
  /** The handshake messages so far (from the ClientHello with the cookie), as the Finished hashes cover them. */
  transcript: Buffer[];
  /** The next server handshake message_seq. */
  messageSeq: number;
  /** The next record sequence number per epoch of what we send. */
  sendSeq: [number, number];
  /** The server flight last sent, resent when the client repeats its own. */
  lastFlight: Buffer[];
  identity?: string;
  master?: Buffer;
  keys?: Keys;
  established: boolean;
}

function record(type: number, epoch: number, seq: number, fragment: Buffer): Buffer {
  const h = Buffer.alloc(13);
  h[0] = type;
  h.writeUInt16BE(DTLS12, 1);
  h.writeUInt16BE(epoch, 3);
  h.writeUIntBE(seq, 5, 6);
  h.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([h, fragment]);
}

function handshake(type: number, messageSeq: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(body.length), u16(messageSeq), u24(0), u24(body.length), body]);
}

/** epoch and sequence number as 8 bytes: the explicit nonce we send, and the start of the AEAD's additional data. */
function epochSeq(epoch: number, seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(epoch, 0);
  b.writeUIntBE(seq, 2, 6);
  return b;
}

/** RFC 5246 §6.2.3.3: additional data = seq_num + type + version + length of the plaintext. */
function aadOf(epoch: number, seq: number, type: number, length: number): Buffer {
  return Buffer.concat([epochSeq(epoch, seq), Buffer.from([type]), u16(DTLS12), u16(length)]);
}

function seal(keys: Keys, type: number, seq: number, plaintext: Buffer): Buffer {
  const explicit = epochSeq(1, seq);
  const c = createCipheriv('aes-128-ccm', keys.serverKey, Buffer.concat([keys.serverIv, explicit]), { authTagLength: 8 });
  c.setAAD(aadOf(1, seq, type, plaintext.length), { plaintextLength: plaintext.length });
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return record(type, 1, seq, Buffer.concat([explicit, body, c.getAuthTag()]));
}

function open(keys: Keys, type: number, epoch: number, seq: number, fragment: Buffer): Buffer | undefined {
  if (fragment.length < 16) return undefined;
  const explicit = fragment.subarray(0, 8);
  const tag = fragment.subarray(fragment.length - 8);
  const ciphertext = fragment.subarray(8, fragment.length - 8);
  const aad = aadOf(epoch, seq, type, ciphertext.length);
  try {
    const d = createDecipheriv('aes-128-ccm', keys.clientKey, Buffer.concat([keys.clientIv, explicit]), { authTagLength: 8 });
    d.setAuthTag(tag);
    d.setAAD(aad, { plaintextLength: ciphertext.length });
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    return undefined;
  }
}

const keyOf = (p: Peer) => `${p.address}|${p.port}`;

/**
 * A UDP socket that speaks DTLS 1.2 PSK as a server: `onMessage` gets the decrypted application data of each client,
 * `send` encrypts for the client's session. Give it to `TestLwm2mServer.start({ transport })` for a coaps:// server.
 *
 * Scope (enough for LwM2M clients on a test bench): the one suite TLS_PSK_WITH_AES_128_CCM_8, a stateless cookie
 * exchange (HelloVerifyRequest), no PSK identity hint, no session resumption, no extended master secret, no replay
 * window; handshake messages must come unfragmented (PSK handshakes are far below any MTU).
 */
export async function createDtlsPskServerTransport(options: DtlsPskServerOptions): Promise<DatagramTransport> {
  const udp = await createUdpTransport({ address: options.address ?? '127.0.0.1', port: options.port ?? 0 });
  const cookieSecret = randomBytes(32);
  const sessions = new Map<string, Session>();
  const listeners: Array<(data: Uint8Array, peer: Peer) => void> = [];

  const sendRaw = (records: Buffer[], peer: Peer): void => {
    void udp.send(Buffer.concat(records), peer);
  };
  const fail = (peer: Peer, s: Session | undefined, alert: number, reason: string): void => {
    sessions.delete(keyOf(peer));
    sendRaw([record(CT.Alert, 0, s ? s.sendSeq[0]++ : 0, Buffer.from([2, alert]))], peer);
    options.onHandshake?.({ peer, identity: s?.identity, ok: false, reason });
  };
  const cookieFor = (peer: Peer, clientRandom: Buffer) => hmac(cookieSecret, Buffer.from(keyOf(peer)), clientRandom).subarray(0, 16);

  const onClientHello = (peer: Peer, message: Buffer, messageSeq: number, recordSeq: number): void => {
    const r = new Reader(message.subarray(12));
    r.u16();
    const clientRandom = r.bytes(32);
    r.vector(1);
    const cookie = r.vector(1);
    const suites = r.vector(2);
    r.vector(1);
    const extensions = r.left >= 2 ? r.vector(2) : Buffer.alloc(0);
    const expected = cookieFor(peer, clientRandom);
    if (cookie.length !== expected.length || !timingSafeEqual(cookie, expected)) {
      // RFC 6347 §4.2.1: the cookie exchange first, with no state kept; the record sequence number echoes the hello's.
      const body = Buffer.concat([u16(DTLS12), Buffer.from([expected.length]), expected]);
      sendRaw([record(CT.Handshake, 0, recordSeq, handshake(HT.HelloVerifyRequest, 0, body))], peer);
      return;
    }
    const existing = sessions.get(keyOf(peer));
    if (existing && !existing.established && existing.clientRandom.equals(clientRandom)) {
      sendRaw(existing.lastFlight, peer);
      return;
    }
    let offered = false;
    for (let i = 0; i + 1 < suites.length; i += 2) if (suites.readUInt16BE(i) === TLS_PSK_WITH_AES_128_CCM_8) offered = true;
    const s: Session = {
      peer, clientRandom, serverRandom: randomBytes(32), transcript: [message], messageSeq, sendSeq: [recordSeq + 1, 0],
      lastFlight: [], established: false,
    };
    if (!offered) return fail(peer, s, ALERT.handshakeFailure, 'the client offers no TLS_PSK_WITH_AES_128_CCM_8');
    // Secure renegotiation (RFC 5746): echo an empty renegotiation_info when the client signals it.
    let secureRenegotiation = false;
    for (let i = 0; i + 1 < suites.length; i += 2) if (suites.readUInt16BE(i) === 0x00ff) secureRenegotiation = true;
    for (const e = new Reader(extensions); e.left >= 4;) {
      const type = e.u16();
      e.vector(2);
      if (type === RENEGOTIATION_INFO) secureRenegotiation = true;
    }
    const ext = secureRenegotiation ? Buffer.concat([u16(5), u16(RENEGOTIATION_INFO), u16(1), Buffer.from([0])]) : Buffer.alloc(0);
    const serverHello = handshake(HT.ServerHello, s.messageSeq++, Buffer.concat([
      u16(DTLS12), s.serverRandom, Buffer.from([0]), u16(TLS_PSK_WITH_AES_128_CCM_8), Buffer.from([0]), ext,
    ]));
    const done = handshake(HT.ServerHelloDone, s.messageSeq++, Buffer.alloc(0));
    s.transcript.push(serverHello, done);
    s.lastFlight = [record(CT.Handshake, 0, s.sendSeq[0]++, serverHello), record(CT.Handshake, 0, s.sendSeq[0]++, done)];
    sessions.set(keyOf(peer), s);
    sendRaw(s.lastFlight, peer);
  };

  const onClientKeyExchange = (s: Session, message: Buffer): void => {
    const identity = new Reader(message.subarray(12)).vector(2).toString('utf8');
    s.identity = identity;
    const psk = options.psk(identity);
    if (!psk) return fail(s.peer, s, ALERT.unknownPskIdentity, `unknown PSK identity ${JSON.stringify(identity)}`);
    s.transcript.push(message);
    const n = psk.length;
    const premaster = Buffer.concat([u16(n), Buffer.alloc(n), u16(n), Buffer.from(psk)]);
    s.master = prf(premaster, 'master secret', Buffer.concat([s.clientRandom, s.serverRandom]), 48);
    const block = prf(s.master, 'key expansion', Buffer.concat([s.serverRandom, s.clientRandom]), 40);
    s.keys = { clientKey: block.subarray(0, 16), serverKey: block.subarray(16, 32), clientIv: block.subarray(32, 36), serverIv: block.subarray(36, 40) };
  };

  const onFinished = (s: Session, message: Buffer): void => {
    const transcriptHash = createHash('sha256').update(Buffer.concat(s.transcript)).digest();
    const expected = prf(s.master!, 'client finished', transcriptHash, 12);
    const got = message.subarray(12);
    if (got.length !== 12 || !timingSafeEqual(got, expected)) return fail(s.peer, s, ALERT.decryptError, 'the client Finished does not verify (wrong key?)');
    s.transcript.push(message);
    const serverVerify = prf(s.master!, 'server finished', createHash('sha256').update(Buffer.concat(s.transcript)).digest(), 12);
    const finished = handshake(HT.Finished, s.messageSeq++, serverVerify);
    s.lastFlight = [record(CT.ChangeCipherSpec, 0, s.sendSeq[0]++, Buffer.from([1])), seal(s.keys!, CT.Handshake, s.sendSeq[1]++, finished)];
    s.established = true;
    sendRaw(s.lastFlight, s.peer);
    options.onHandshake?.({ peer: s.peer, identity: s.identity, ok: true });
  };

  const onRecord = (peer: Peer, type: number, epoch: number, seq: number, fragment: Buffer): void => {
    const s = sessions.get(keyOf(peer));
    if (epoch === 0) {
      if (type === CT.Handshake) {
        const msgType = fragment[0];
        const length = fragment.readUIntBE(1, 3);
        const messageSeq = fragment.readUInt16BE(4);
        if (fragment.readUIntBE(6, 3) !== 0 || fragment.readUIntBE(9, 3) !== length) return; // fragmented: not supported
        const message = fragment.subarray(0, 12 + length);
        if (msgType === HT.ClientHello) onClientHello(peer, message, messageSeq, seq);
        else if (msgType === HT.ClientKeyExchange && s && !s.keys) onClientKeyExchange(s, message);
      } else if (type === CT.Alert && s && !s.established) sessions.delete(keyOf(peer));
      return;
    }
    if (!s?.keys) return;
    const plain = open(s.keys, type, epoch, seq, fragment);
    if (!plain) {
      // The client's first protected record is its Finished: failing to open it means the keys differ (another PSK).
      if (!s.established && type === CT.Handshake) fail(peer, s, ALERT.badRecordMac, 'the client Finished does not authenticate (a different key?)');
      return; // RFC 6347 §4.1.2.1: otherwise a record that does not authenticate is dropped silently
    }
    if (type === CT.Handshake && plain[0] === HT.Finished) {
      if (s.established) sendRaw(s.lastFlight, peer); // our last flight was lost: the client repeats its own
      else onFinished(s, plain);
    } else if (type === CT.ApplicationData && s.established) {
      for (const l of listeners) l(new Uint8Array(plain), peer);
    } else if (type === CT.Alert && plain[1] === ALERT.closeNotify) sessions.delete(keyOf(peer));
  };

  udp.onMessage((data, peer) => {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    try {
      while (at + 13 <= buf.length) {
        const type = buf[at]!;
        const epoch = buf.readUInt16BE(at + 3);
        const seq = buf.readUIntBE(at + 5, 6);
        const length = buf.readUInt16BE(at + 11);
        if (at + 13 + length > buf.length) return;
        onRecord(peer, type, epoch, seq, buf.subarray(at + 13, at + 13 + length));
        at += 13 + length;
      }
    } catch (e) {
      fail(peer, sessions.get(keyOf(peer)), ALERT.handshakeFailure, `malformed handshake: ${e instanceof Error ? e.message : String(e)}`);
    }
  });

  return {
    send: (data, peer) => {
      const s = sessions.get(keyOf(peer));
      if (!s?.established || !s.keys) throw new Error(`no DTLS session with ${peer.address}:${peer.port}`);
      return udp.send(seal(s.keys, CT.ApplicationData, s.sendSeq[1]++, Buffer.from(data)), peer);
    },
    onMessage: (l) => {
      listeners.push(l);
    },
    address: () => udp.address(),
    close: () => udp.close(),
  };
}
