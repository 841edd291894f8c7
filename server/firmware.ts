// Firmware Update from the page: push the package to /5/0/0 (Block1) or serve it for a pull from /5/0/1, then Update, watched live.
import { randomBytes } from 'node:crypto';
import {
  ContentFormat, OptionNumber, decodeMessage, decodeUint, type DatagramTransport, type IncomingRequest, type OutgoingResponse,
} from 'lwm2m-gen/runtime';
import type { TestLwm2mServer } from 'lwm2m-gen/testing';
import type { OperationResult, ServerHub } from './hub.js';
import type { PlannedRequest } from './operations.js';
import { BadInputError } from './values.js';

/** Firmware Update State (/5/0/3) and Update Result (/5/0/5) as LwM2M 1.1 §E.6 names them. */
const STATES = ['Idle', 'Downloading', 'Downloaded', 'Updating'];
const RESULTS = ['Initial', 'Success', 'Not enough flash', 'Out of RAM', 'Connection lost', 'Integrity check failure',
  'Unsupported package type', 'Invalid URI', 'Update failed', 'Unsupported protocol', 'Cancelled', 'Deferred'];

const POLL_MS = 500;
const DOWNLOAD_TIMEOUT_MS = 120_000;
const UPDATE_TIMEOUT_MS = 60_000;

/** A package the server offers for pulls: `coap://HOST:PORT/fw/TOKEN`. */
interface ServedPackage {
  readonly bytes: Uint8Array;
  readonly onBlock: (servedBytes: number) => void;
}

/** What the socket shows of a transfer: a pull's GET of /fw/TOKEN, or a push's Block1 PUT to a peer; `bytes(total)` is how far it got. */
export type TransferListener = (t: { readonly kind: 'pull'; readonly token: string } | { readonly kind: 'push'; readonly peer: string }, bytes: (total: number) => number) => void;

const uriPath = (m: NonNullable<ReturnType<typeof decodeMessage>>) =>
  m.options.filter((o) => o.number === OptionNumber.UriPath).map((o) => new TextDecoder().decode(o.value)).join('/');

/** Bytes up to the end of the block a Block1/Block2 option value names (RFC 7959: NUM, M, SZX). */
function blockEnd(option: Uint8Array | undefined, total: number): number {
  const block = option ? decodeUint(option) : 0;
  return Math.min(total, ((block >> 4) + 1) * (16 << (block & 7)));
}

/**
 * The UDP transport with a look at firmware transfers on the socket: the endpoint sends a push's Block1 blocks and
 * answers a pull's later blocks from its Block2 cache, both past any handler, so their progress shows only here.
 */
export function watchTransfers(udp: DatagramTransport): { transport: DatagramTransport; listen(l: TransferListener): void } {
  let listener: TransferListener | undefined;
  return {
    listen: (l) => {
      listener = l;
    },
    transport: {
      send: (data, peer) => {
        const m = listener ? decodeMessage(data) : undefined;
        const b1 = m?.code === '0.03' && uriPath(m) === '5/0/0' ? m.options.find((o) => o.number === OptionNumber.Block1) : undefined;
        if (b1) listener!({ kind: 'push', peer: `${peer.address}:${peer.port}` }, (total) => blockEnd(b1.value, total));
        return udp.send(data, peer);
      },
      onMessage: (l) => udp.onMessage((data, peer) => {
        const m = listener ? decodeMessage(data) : undefined;
        const path = m?.code === '0.01' ? uriPath(m).split('/') : [];
        if (path.length === 2 && path[0] === 'fw') {
          const b2 = m!.options.find((o) => o.number === OptionNumber.Block2);
          listener!({ kind: 'pull', token: path[1]! }, (total) => blockEnd(b2?.value, total));
        }
        l(data, peer);
      }),
      address: () => udp.address(),
      close: () => udp.close(),
    },
  };
}

function plan(op: PlannedRequest['op'], path: string, request: PlannedRequest['request'], expect: string): PlannedRequest {
  const [objectId, instanceId, resourceId] = path.split('/').filter(Boolean).map(Number) as [number, number, number];
  return { op, path: { objectId, instanceId, resourceId }, request, expect };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Firmware jobs, one per client at a time. Progress goes to the hub's listeners as `firmware` events: phase, State,
 * Update Result, bytes, and the Firmware Version (/3/0/3) once the update is in effect.
 */
export class FirmwareJobs {
  readonly #hub: ServerHub;
  readonly #running = new Set<string>();
  readonly #served = new Map<string, ServedPackage>();
  /** Pushes in flight by the client's address. */
  readonly #pushes = new Map<string, ServedPackage>();

  /** `transfers` is the UDP transport's watch (watchTransfers), for the progress of pushes and pulls. */
  constructor(hub: ServerHub, transfers?: { listen(l: TransferListener): void }) {
    this.#hub = hub;
    transfers?.listen((t, bytes) => {
      const pkg = t.kind === 'pull' ? this.#served.get(t.token) : this.#pushes.get(t.peer);
      if (pkg) pkg.onBlock(bytes(pkg.bytes.length));
    });
    // The UDP server answers pulls of /fw/TOKEN itself; everything else goes on to the registration interface.
    for (const { server, transport } of hub.servers) {
      if (transport === 'udp') server.intercept = (req) => this.#servePull(req);
    }
  }

  #servePull(req: IncomingRequest): OutgoingResponse | undefined {
    if (req.path[0] !== 'fw') return undefined;
    const pkg = req.path.length === 2 ? this.#served.get(req.path[1]!) : undefined;
    if (!pkg) return { code: '4.04' };
    if (req.method !== 'GET') return { code: '4.05' };
    return { code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: pkg.bytes };
  }

  /** Starts a push or pull of `bytes` to the client; resolves once started (progress comes as events). */
  start(endpoint: string, mode: 'push' | 'pull', bytes: Uint8Array): void {
    if (bytes.length === 0) throw new BadInputError('the firmware package is empty');
    if (this.#running.has(endpoint)) throw new BadInputError(`a firmware update of ${endpoint} is already running`);
    const udp = this.#hub.servers.find((s) => s.transport === 'udp')?.server;
    if (mode === 'pull' && !udp) throw new BadInputError('pull needs the UDP server to serve the package');
    this.#hub.requireClient(endpoint);
    this.#running.add(endpoint);
    void this.#run(endpoint, mode, bytes, udp).finally(() => this.#running.delete(endpoint));
  }

  async #send(endpoint: string, p: PlannedRequest): Promise<OperationResult> {
    return this.#hub.send(endpoint, p);
  }

  async #readInt(endpoint: string, path: string): Promise<number | undefined> {
    const r = await this.#send(endpoint, plan('read', path, { method: 'GET', accept: ContentFormat.TEXT }, '2.05'));
    return r.code === '2.05' ? r.values?.[0]?.number : undefined;
  }

  async #run(endpoint: string, mode: 'push' | 'pull', bytes: Uint8Array, udp: TestLwm2mServer | undefined): Promise<void> {
    const total = bytes.length;
    const status = (s: Record<string, unknown>): void => this.#hub.firmwareStatus(endpoint, { mode, total, ...s });
    const failed = (message: string): void => status({ phase: 'failed', message });
    let token: string | undefined;
    try {
      if (mode === 'push') {
        status({ phase: 'sending', bytes: 0 });
        const peer = this.#hub.clients().find((c) => c.endpoint === endpoint)?.address;
        if (peer) this.#pushes.set(peer, { bytes, onBlock: (sent) => status({ phase: 'sending', bytes: sent }) });
        const r = await this.#send(endpoint, plan('write', '/5/0/0', { method: 'PUT', contentFormat: ContentFormat.OPAQUE, payload: bytes }, '2.04'))
          .finally(() => peer && this.#pushes.delete(peer));
        if (r.code !== '2.04') return failed(`the write of Package (/5/0/0) was answered ${r.code}${r.text ? `: ${r.text}` : ''}`);
        status({ phase: 'sent', bytes: total });
      } else {
        token = randomBytes(8).toString('hex');
        this.#served.set(token, { bytes, onBlock: (served) => status({ phase: 'downloading', bytes: served }) });
        const { address, port } = udp!.address();
        const uri = `coap://${address === '0.0.0.0' ? '127.0.0.1' : address}:${port}/fw/${token}`;
        status({ phase: 'offered', uri, bytes: 0 });
        const r = await this.#send(endpoint, plan('write', '/5/0/1', { method: 'PUT', contentFormat: ContentFormat.TEXT, payload: new TextEncoder().encode(uri) }, '2.04'));
        if (r.code !== '2.04') return failed(`the write of Package URI (/5/0/1) was answered ${r.code}${r.text ? `: ${r.text}` : ''}`);
      }
      // Downloaded (State 2) before Update; a failed download shows as State 0 with an Update Result above 1.
      const downloadBy = Date.now() + DOWNLOAD_TIMEOUT_MS;
      for (;;) {
        const state = await this.#readInt(endpoint, '/5/0/3');
        const result = await this.#readInt(endpoint, '/5/0/5');
        status({ phase: 'downloading', state, stateName: STATES[state ?? -1], result, resultName: RESULTS[result ?? -1] });
        if (state === 2) break;
        if (state === 0 && result !== undefined && result > 1) return failed(`the download failed: ${RESULTS[result] ?? result}`);
        if (Date.now() > downloadBy) return failed('the package was not downloaded in time');
        await sleep(POLL_MS);
      }
      const u = await this.#send(endpoint, plan('execute', '/5/0/2', { method: 'POST' }, '2.04'));
      if (u.code !== '2.04') return failed(`Update (/5/0/2) was answered ${u.code}`);
      const updateBy = Date.now() + UPDATE_TIMEOUT_MS;
      for (;;) {
        await sleep(POLL_MS);
        // The device may restart into the new firmware: requests fail until it has registered again.
        const state = await this.#readInt(endpoint, '/5/0/3').catch(() => undefined);
        const result = await this.#readInt(endpoint, '/5/0/5').catch(() => undefined);
        status({ phase: 'updating', state, stateName: STATES[state ?? -1], result, resultName: RESULTS[result ?? -1] });
        if (state === 0 && result === 1) break;
        if (result !== undefined && result > 1) return failed(`the update failed: ${RESULTS[result] ?? result}`);
        if (Date.now() > updateBy) return failed('the update did not finish in time');
      }
      const v = await this.#send(endpoint, plan('read', '/3/0/3', { method: 'GET', accept: ContentFormat.TEXT }, '2.05'));
      status({ phase: 'done', state: 0, stateName: STATES[0], result: 1, resultName: RESULTS[1], firmwareVersion: v.values?.[0]?.text });
    } catch (e) {
      failed(e instanceof Error ? e.message : String(e));
    } finally {
      if (token) this.#served.delete(token);
    }
  }
}
