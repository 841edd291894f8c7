// The fetchers of pull delivery: a package from a Package URI over CoAP (UDP, DTLS, TCP, TLS) or HTTP(S), resuming from an offset.
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { createCoapEndpoint } from '../coap/endpoint.js';
import { createDtlsTransport } from '../coap/dtls.js';
import { blockSizeOf, decodeBlock, decodeUint, encodeBlock, OptionNumber, szxOf } from '../coap/message.js';
import { connectCoapEndpoint } from '../coap/stream-connect.js';
import type { CoapEndpoint, Peer } from '../coap/types.js';
import { createUdpEndpoint } from '../coap/udp.js';
import { parseUri, uriParts, type ParsedUri } from '../coap/uri.js';
import { FirmwareProtocolCode, FirmwareResult, type DownloadOptions, type FirmwareProtocol, type FirmwareResultValue } from './types.js';

/** Why a pull failed: the Update Result it stands for, and whether trying again (from where it stopped) may help. */
export class DownloadError extends Error {
  readonly result: FirmwareResultValue;
  readonly retryable: boolean;
  constructor(message: string, result: FirmwareResultValue, retryable: boolean) {
    super(message);
    this.name = 'DownloadError';
    this.result = result;
    this.retryable = retryable;
  }
}

/** Where a fetch puts what it receives; the updater maps it onto storage and progress. */
export interface ChunkSink {
  /** Bytes from `offset` on follow (0: the package starts over); `total` when the server said. */
  start(offset: number, total: number | undefined): Promise<void>;
  chunk(offset: number, bytes: Uint8Array): Promise<void>;
}

/** Fetches `url` from byte `from` on (a server may restart lower; `start` says where) until the end. */
export type Fetcher = (url: URL, from: number, sink: ChunkSink, signal: AbortSignal, options: DownloadOptions) => Promise<void>;

/** The scheme of a Package URI as a protocol we know, or undefined. */
export function protocolOf(url: URL): FirmwareProtocol | undefined {
  const scheme = url.protocol.slice(0, -1);
  return Object.hasOwn(FirmwareProtocolCode, scheme) ? (scheme as FirmwareProtocol) : undefined;
}

/**
 * Parses a Package URI: Update Result 7 when it is no URI or has no host, 9 when its scheme is not among
 * `supported`.
 */
export function parsePackageUri(text: string, supported: readonly FirmwareProtocol[]): URL {
  let parsed: ParsedUri;
  try {
    parsed = parseUri(text);
  } catch {
    // The URI is not echoed: a mistyped one may hold credentials in its userinfo.
    throw new DownloadError('not a valid URI', FirmwareResult.InvalidUri, false);
  }
  const { url } = parsed;
  const protocol = protocolOf(url);
  if (protocol === undefined || !supported.includes(protocol)) {
    // A scheme we never heard of is still a well-formed URI: the protocol is what is unsupported.
    throw new DownloadError(`unsupported protocol ${url.protocol.slice(0, -1)}`, FirmwareResult.UnsupportedProtocol, false);
  }
  if (parsed.host === '') throw new DownloadError('the URI has no host', FirmwareResult.InvalidUri, false);
  return url;
}

function abortError(): Error {
  const e = new Error('download aborted');
  e.name = 'AbortError';
  return e;
}

/** Rejects when the signal aborts first. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

// ---- HTTP(S) ----

function parseContentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/** HTTP(S) GET with `Range: bytes=from-` to resume; a server that ignores Range (200) restarts the package. */
export const fetchHttp: Fetcher = (url, from, sink, signal, options) => new Promise<void>((resolve, reject) => {
  const mod = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = from > 0 ? { Range: `bytes=${from}-` } : {};
  const tls = url.protocol === 'https:' && options.httpsCa !== undefined ? { ca: Buffer.from(options.httpsCa) } : {};
  let settled = false;
  const fail = (e: unknown): void => {
    if (settled) return;
    settled = true;
    if (signal.aborted) reject(abortError());
    else if (e instanceof DownloadError) reject(e);
    else reject(new DownloadError(`link failed: ${e instanceof Error ? e.message : String(e)}`, FirmwareResult.ConnectionLost, true));
  };
  const req = mod.get(url, { headers, signal, timeout: options.idleTimeoutMs ?? 30_000, ...tls }, (res) => {
    const status = res.statusCode ?? 0;
    let offset: number;
    let total: number | undefined;
    const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    if (status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      if (!range || range.start > from) {
        res.resume();
        fail(new DownloadError('206 without a usable Content-Range', FirmwareResult.ConnectionLost, true));
        return;
      }
      offset = range.start;
      total = range.total;
    } else if (status === 200) {
      offset = 0;
      total = length;
    } else if (status === 416 && from > 0) {
      // What we hold does not fit the file there now: start over.
      res.resume();
      settled = true;
      fetchHttp(url, 0, sink, signal, options).then(resolve, reject);
      return;
    } else {
      res.resume();
      const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
      fail(new DownloadError(`HTTP ${status}`, permanent ? FirmwareResult.InvalidUri : FirmwareResult.ConnectionLost, !permanent));
      return;
    }
    void (async () => {
      await sink.start(offset, total);
      let pos = offset;
      // for-await pauses the socket while storage writes: the package is never held whole.
      for await (const chunk of res as AsyncIterable<Buffer>) {
        await sink.chunk(pos, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pos += chunk.byteLength;
      }
      if (!res.complete || (total !== undefined && pos < total)) {
        throw new DownloadError('the connection closed before the end', FirmwareResult.ConnectionLost, true);
      }
    })().then(() => {
      if (!settled) { settled = true; resolve(); }
    }, fail);
  });
  req.on('timeout', () => req.destroy(new DownloadError('the link went silent', FirmwareResult.ConnectionLost, true)));
  req.on('error', fail);
});

// ---- CoAP ----

interface CoapConnection {
  readonly endpoint: CoapEndpoint;
  readonly peer: Peer;
  close(): Promise<void>;
}

async function resolveHost(url: URL): Promise<{ address: string; family: 4 | 6 }> {
  const { host } = uriParts(url);
  try {
    const r = await lookup(host);
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch {
    throw new DownloadError(`cannot resolve ${host}`, FirmwareResult.ConnectionLost, true);
  }
}

async function connectCoap(url: URL, options: DownloadOptions): Promise<CoapConnection> {
  const protocol = protocolOf(url);
  try {
    if (protocol === 'coap') {
      const { address, family } = await resolveHost(url);
      const endpoint = await createUdpEndpoint({ ...options.coap, type: family === 6 ? 'udp6' : 'udp4' });
      return { endpoint, peer: { address, port: uriParts(url).port! }, close: () => endpoint.close() };
    }
    if (protocol === 'coaps') {
      if (!options.dtls) throw new DownloadError('coaps:// needs PSK credentials (download.dtls)', FirmwareResult.UnsupportedProtocol, false);
      const { address } = await resolveHost(url);
      const transport = await createDtlsTransport({ ...options.dtls, host: address, port: uriParts(url).port! });
      const endpoint = createCoapEndpoint(transport, options.coap ?? {});
      return { endpoint, peer: transport.remote, close: () => endpoint.close() };
    }
    const endpoint = await connectCoapEndpoint(url.href, options.stream ?? {});
    return { endpoint, peer: endpoint.remote(), close: () => endpoint.close() };
  } catch (e) {
    if (e instanceof DownloadError) throw e;
    throw new DownloadError(`cannot connect: ${e instanceof Error ? e.message : String(e)}`, FirmwareResult.ConnectionLost, true);
  }
}

function coapFailure(code: string): DownloadError {
  // 4.04/4.00/4.03…: the URI names nothing we may fetch; 5.xx may pass.
  if (code.startsWith('4.')) return new DownloadError(`CoAP server answered ${code}`, FirmwareResult.InvalidUri, false);
  return new DownloadError(`CoAP server answered ${code}`, FirmwareResult.ConnectionLost, true);
}

/**
 * CoAP GET asking for one Block2 block at a time (RFC 7959 §2.4), so each block goes to storage as it
 * arrives; a resume asks for the block that holds `from`. A server answering with smaller blocks is followed.
 * Over coap+tcp/coaps+tcp the transport reassembles (see below).
 */
export const fetchCoap: Fetcher = async (url, from, sink, signal, options) => {
  const conn = await raceAbort(connectCoap(url, options), signal);
  const protocol = protocolOf(url);
  // RFC 8323 endpoints follow Block2 themselves and hand over the whole body (up to their maxBodySize): over
  // TCP/TLS the package comes in one piece and a retry starts at byte 0.
  const stream = protocol === 'coap+tcp' || protocol === 'coaps+tcp';
  try {
    const { path, query } = uriParts(url);
    let szx = szxOf(options.coapBlockSize ?? 1024);
    let num = Math.floor(from / blockSizeOf(szx));
    let started = false;
    for (;;) {
      let res;
      try {
        res = await raceAbort(conn.endpoint.request(conn.peer, {
          method: 'GET',
          path,
          query,
          ...(stream ? {} : { options: [{ number: OptionNumber.Block2, value: encodeBlock({ num, more: false, szx }) }] }),
        }), signal);
      } catch (e) {
        if (signal.aborted) throw abortError();
        throw new DownloadError(`CoAP request failed: ${e instanceof Error ? e.message : String(e)}`, FirmwareResult.ConnectionLost, true);
      }
      if (!res.code.startsWith('2.')) throw coapFailure(res.code);
      const raw = res.options.find((o) => o.number === OptionNumber.Block2)?.value;
      const block = raw ? decodeBlock(raw) : undefined;
      if (!block) {
        // The server sent the whole representation in one response.
        await sink.start(0, res.payload.length);
        await sink.chunk(0, res.payload);
        return;
      }
      const offset = block.num * blockSizeOf(block.szx);
      if (!started) {
        const size2 = res.options.find((o) => o.number === OptionNumber.Size2)?.value;
        await sink.start(offset, size2 ? decodeUint(size2) : undefined);
        started = true;
      }
      await sink.chunk(offset, res.payload);
      if (!block.more) return;
      szx = block.szx;
      num = block.num + 1;
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
};

/** The fetcher for a protocol. */
export function fetcherFor(protocol: FirmwareProtocol): Fetcher {
  return protocol === 'http' || protocol === 'https' ? fetchHttp : fetchCoap;
}
