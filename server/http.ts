// The web UI's HTTP side: static page, JSON API, server-sent events; loopback only unless a host is given, then a token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { FirmwareJobs } from './firmware.js';
import { UnknownClientError, type ServerHub } from './hub.js';
import { parseOperationInput } from './operations.js';
import { uiFolder } from './paths.js';
import { BadInputError } from './values.js';

/** How to serve the UI. */
export interface UiOptions {
  readonly host: string;
  readonly port: number;
  /** Required on every request when set (given with --ui-host): Bearer header, cookie, or ?token= on the page. */
  readonly token?: string;
}

const STATIC: Readonly<Record<string, string>> = {
  '/': 'index.html', '/index.html': 'index.html', '/app.js': 'app.js', '/chart.js': 'chart.js', '/style.css': 'style.css',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
};
/** The page runs only its own script: even a string that slipped into markup could run nothing. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const MAX_JSON = 64 * 1024;
const MAX_PACKAGE = 1 << 20;
const COOKIE = 'lwm2m_ui_token';

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === COOKIE) return v;
  }
  return undefined;
}

async function body(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Text for HTML: the five characters that could open markup or leave an attribute, as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The client list as the script draws it, in the page itself, so it shows before the script runs (and to --dump-dom). */
function clientItems(hub: ServerHub): string {
  return hub.clients().map((c) => `<li data-endpoint="${escapeHtml(c.endpoint)}"><div class="ep">${escapeHtml(c.endpoint)}</div>`
    + `<div class="meta">LwM2M ${escapeHtml(c.lwm2mVersion)} · ${c.transport} · lt ${c.lifetime}s · ${escapeHtml(c.binding)}</div></li>`).join('');
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  res.end(JSON.stringify(value));
}

/** The HTTP server of the UI over a hub; listening once the promise resolves. */
export class UiServer {
  readonly #http: Server;
  readonly #hub: ServerHub;
  readonly #firmware: FirmwareJobs;
  readonly #options: UiOptions;
  readonly #streams = new Set<ServerResponse>();

  private constructor(hub: ServerHub, firmware: FirmwareJobs, options: UiOptions) {
    this.#hub = hub;
    this.#firmware = firmware;
    this.#options = options;
    this.#http = createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        const status = e instanceof HttpError ? e.status : e instanceof BadInputError ? 400 : e instanceof UnknownClientError ? 404 : 500;
        if (!res.headersSent) send(res, status, { error: e instanceof Error ? e.message : String(e) });
        else res.end();
      });
    });
  }

  static async start(hub: ServerHub, firmware: FirmwareJobs, options: UiOptions): Promise<UiServer> {
    const ui = new UiServer(hub, firmware, options);
    await new Promise<void>((resolve, reject) => {
      ui.#http.once('error', reject);
      ui.#http.listen(options.port, options.host, () => resolve());
    });
    return ui;
  }

  /** The page's address (without the token). */
  url(): string {
    const a = this.#http.address();
    const port = typeof a === 'object' && a ? a.port : this.#options.port;
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${port}/`;
  }

  async close(): Promise<void> {
    for (const s of this.#streams) s.end();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  /** Refuses what is not for us: a foreign Host (DNS rebinding) on loopback, a missing token, a cross-site POST. */
  #guard(req: IncomingMessage, url: URL): void {
    const { token } = this.#options;
    if (token === undefined) {
      const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) throw new HttpError(403, 'this UI answers on 127.0.0.1 only');
    } else if (!sameToken(req.headers.authorization?.replace(/^Bearer /, ''), token) && !sameToken(cookieToken(req), token)
      && !(url.pathname === '/' && sameToken(url.searchParams.get('token') ?? undefined, token))) {
      throw new HttpError(401, 'this UI needs the token printed at start (open the URL printed with ?token=)');
    }
    if (req.method !== 'GET' && req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host}`) {
      throw new HttpError(403, 'cross-site requests are refused');
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    this.#guard(req, url);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS);
      res.end();
      return;
    }
    const file = STATIC[url.pathname];
    if (req.method === 'GET' && file) {
      const headers: Record<string, string> = { 'content-type': TYPES[file.split('.').pop()!]!, ...SECURITY_HEADERS };
      // The token goes into a cookie the page's requests carry (HttpOnly: scripts never see it).
      if (this.#options.token && url.searchParams.has('token')) headers['set-cookie'] = `${COOKIE}=${this.#options.token}; HttpOnly; SameSite=Strict; Path=/`;
      res.writeHead(200, headers);
      const content = await readFile(join(uiFolder(), file));
      res.end(file === 'index.html' ? content.toString('utf8').replace('<ul id="clients"></ul>', `<ul id="clients">${clientItems(this.#hub)}</ul>`) : content);
      return;
    }
    const parts = url.pathname.split('/').slice(1).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new HttpError(400, `the path segment "${p}" is not valid percent-encoding`);
      }
    });
    if (parts[0] !== 'api') throw new HttpError(404, `no such page: ${url.pathname}`);
    const route = `${req.method} ${parts.slice(1).map((p, i) => (i === 1 && parts[1] === 'clients' ? ':ep' : p)).join('/')}`;
    const ep = parts[2] ?? '';
    switch (route) {
      case 'GET events':
        return this.#events(req, res);
      case 'GET clients':
        return send(res, 200, this.#hub.clients());
      case 'GET log':
        return send(res, 200, this.#hub.log);
      case 'GET clients/:ep/models':
        return send(res, 200, { objects: this.#hub.objectModels(ep), observed: this.#hub.observed(ep) });
      case 'POST clients/:ep/operations': {
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'operations are sent as application/json');
        let input: unknown;
        try {
          input = JSON.parse((await body(req, MAX_JSON)).toString('utf8'));
        } catch (e) {
          if (e instanceof HttpError) throw e;
          throw new BadInputError(`the request body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
        }
        return send(res, 200, await this.#hub.perform(ep, parseOperationInput(input)));
      }
      case 'POST clients/:ep/firmware': {
        const mode = url.searchParams.get('mode');
        if (mode !== 'push' && mode !== 'pull') throw new BadInputError('mode must be push or pull');
        if (req.headers['content-type'] !== 'application/octet-stream') throw new HttpError(415, 'the package is sent as application/octet-stream');
        this.#firmware.start(ep, mode, new Uint8Array(await body(req, MAX_PACKAGE)));
        return send(res, 202, { started: mode });
      }
      default:
        throw new HttpError(404, `no such API: ${req.method} ${url.pathname}`);
    }
  }

  #events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive', ...SECURITY_HEADERS });
    const write = (e: unknown): void => {
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    };
    write({ type: 'clients', clients: this.#hub.clients() });
    const stop = this.#hub.subscribe(write);
    this.#streams.add(res);
    req.on('close', () => {
      stop();
      this.#streams.delete(res);
    });
  }
}
