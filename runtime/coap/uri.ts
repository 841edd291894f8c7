// The runtime's one URI parser: scheme, host (IPv6 without brackets), port with the scheme's default, CoAP path and query segments.

/** Why a text is not a usable URI. Its message never repeats the text: a mistyped URI may hold credentials. */
export class UriError extends Error {
  constructor() {
    super('not a valid URI');
    this.name = 'UriError';
  }
}

/** An absolute URI taken apart the way the transports need it. */
export interface ParsedUri {
  readonly url: URL;
  /** Without the ':', e.g. "coaps+tcp". */
  readonly scheme: string;
  /** Host name or address; IPv6 literals without brackets, as sockets want them; '' when the URI has none (callers refuse it). */
  readonly host: string;
  /** The URI's port, else the scheme's default (5683 coap, coap+tcp; 5684 coaps, coaps+tcp; 80 http; 443 https); undefined for other schemes. */
  readonly port: number | undefined;
  /** Uri-Path segments, percent-decoded. */
  readonly path: readonly string[];
  /** Uri-Query items, percent-decoded. */
  readonly query: readonly string[];
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  coap: 5683, 'coap+tcp': 5683, coaps: 5684, 'coaps+tcp': 5684, http: 80, https: 443,
};

/** Takes a URL apart (see ParsedUri). */
export function uriParts(url: URL): ParsedUri {
  const scheme = url.protocol.slice(0, -1);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    url,
    scheme,
    host,
    port: url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port),
    path: url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s)),
    query: url.search.length > 1 ? url.search.slice(1).split('&').map((s) => decodeURIComponent(s)) : [],
  };
}

/** Parses an absolute URI; throws UriError when it is none. */
export function parseUri(text: string): ParsedUri {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UriError();
  }
  return uriParts(url);
}
