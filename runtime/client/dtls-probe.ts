// Whether anything answers DTLS at an address: tells a handshake a server dropped (a wrong PSK) from no server at all.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** TLS_PSK_WITH_AES_128_CCM_8, the one suite the client offers (RFC 6655), so the probe looks like the real thing. */
const PSK_CCM_8 = 0xc0a8;

/** A DTLS 1.2 ClientHello without cookie or extensions: enough for a server to answer (HelloVerifyRequest or an alert). */
export function probeClientHello(): Uint8Array {
  const body = Buffer.concat([
    Buffer.from([0xfe, 0xfd]), randomBytes(32), Buffer.from([0, 0]),
    Buffer.from([0, 2, PSK_CCM_8 >> 8, PSK_CCM_8 & 0xff]), Buffer.from([1, 0]),
  ]);
  const len = (n: number, bytes: number): Buffer => Buffer.from(n.toString(16).padStart(bytes * 2, '0'), 'hex');
  const handshake = Buffer.concat([Buffer.from([1]), len(body.length, 3), len(0, 2), len(0, 3), len(body.length, 3), body]);
  return Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), len(0, 2), len(0, 6), len(handshake.length, 2), handshake]);
}

/**
 * Sends a ClientHello from a fresh socket and resolves true when a DTLS record comes back within `timeoutMs`.
 * Nothing secret is sent: no identity, no key.
 */
export function dtlsAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (answered: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    // Handshake (22) or alert (21) records, DTLS versions 1.0 or 1.2.
    socket.on('message', (msg) => { if ((msg[0] === 22 || msg[0] === 21) && msg[1] === 0xfe) finish(true); });
    socket.on('error', () => finish(false));
    socket.send(probeClientHello(), port, host, (err) => { if (err) finish(false); });
  });
}
