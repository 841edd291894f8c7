// Pull delivery of Firmware Update: the package fetched from Package URI (coap, coaps, coap+tcp, http, https) into storage, resumed and retried.
import { DownloadError, fetcherFor, protocolOf, type ChunkSink } from './download.js';
import { asError, resultOf, type FirmwareMachine } from './machine.js';
import { FirmwareResult, FirmwareState } from './types.js';

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) { resolve(); return; }
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** Starts pulling `url` in the background (`fresh`: from the start; else resumed from what storage holds). */
export function startPull(m: FirmwareMachine, url: URL, fresh: boolean): void {
  const controller = new AbortController();
  m.abort = controller;
  m.job = pull(m, url, fresh, controller.signal).catch((e: unknown) => m.report(e));
}

async function pull(m: FirmwareMachine, url: URL, fresh: boolean, signal: AbortSignal): Promise<void> {
  const o = m.o;
  const storage = o.storage;
  const dl = o.download ?? {};
  const retries = dl.retries ?? 3;
  const retryDelay = dl.retryDelayMs ?? 1000;
  const max = o.maxPackageSize;
  await m.set(FirmwareState.Downloading, FirmwareResult.Initial);
  await m.save();
  let from = 0;
  try {
    if (fresh) await storage.begin(undefined);
    else from = await storage.size();
  } catch (e) {
    m.report(e);
    if (!signal.aborted) await m.fail(resultOf(e, FirmwareResult.NotEnoughStorage));
    return;
  }
  let pos = from;
  let total: number | undefined;
  const storageFailed = (e: unknown): DownloadError => {
    m.report(e);
    return new DownloadError('storage failed', resultOf(e, FirmwareResult.NotEnoughStorage), false);
  };
  const sink: ChunkSink = {
    start: async (offset, size) => {
      if (size !== undefined && size > max) throw new DownloadError(`package of ${size} bytes exceeds ${max}`, FirmwareResult.NotEnoughStorage, false);
      total = size;
      if (offset === 0 && pos > 0) {
        try {
          await storage.begin(size);
        } catch (e) {
          throw storageFailed(e);
        }
      }
      pos = offset;
    },
    chunk: async (offset, bytes) => {
      if (signal.aborted) throw new DownloadError('cancelled', FirmwareResult.Cancelled, false);
      if (offset + bytes.length > max) throw new DownloadError(`package exceeds ${max} bytes`, FirmwareResult.NotEnoughStorage, false);
      try {
        await storage.write(offset, bytes);
      } catch (e) {
        throw storageFailed(e);
      }
      pos = offset + bytes.length;
      m.emit('progress', { bytes: pos, total });
    },
  };
  const fetch = fetcherFor(protocolOf(url)!);
  let failures = 0;
  for (;;) {
    const before = pos;
    try {
      await fetch(url, from, sink, signal, dl);
      break;
    } catch (e) {
      if (signal.aborted) return;
      const err = e instanceof DownloadError ? e : new DownloadError(asError(e).message, FirmwareResult.ConnectionLost, true);
      if (!err.retryable) {
        await m.fail(err.result);
        return;
      }
      // Retries are bounded per stall: a link that keeps making progress may drop any number of times.
      failures = pos > before ? 1 : failures + 1;
      if (failures > retries) {
        m.emit('error', err);
        await m.fail(FirmwareResult.ConnectionLost);
        return;
      }
      from = pos;
      await delay(retryDelay * failures, signal);
      if (signal.aborted) return;
    }
  }
  // Cancelled as the last bytes came in: storage may already hold the next package.
  if (signal.aborted) return;
  try {
    await storage.finish();
  } catch (e) {
    m.report(e);
    if (!signal.aborted) await m.fail(resultOf(e, FirmwareResult.NotEnoughStorage));
    return;
  }
  if (signal.aborted) return;
  m.abort = undefined;
  await m.downloaded(() => signal.aborted);
}
