// Push delivery of Firmware Update: a package written to /5/x/0 block by block (streamed Block1) into storage.
import { Lwm2mError, MethodNotAllowedError } from '../errors.js';
import { R, resultOf, type FirmwareMachine } from './machine.js';
import { FirmwareResult, FirmwareState } from './types.js';

/**
 * The blocks of one pushed package (a Block1 Write to /5/x/0), in order. `write` rejects with an Lwm2mError
 * whose code the CoAP layer answers (4.13 for a package over maxPackageSize).
 */
export interface PackageSink {
  write(offset: number, bytes: Uint8Array, more: boolean): Promise<void>;
  /** The transfer ended without its last block (timed out, replaced). */
  abort(): void;
}

/**
 * Starts a pushed package; `size1` is the total size when the server announced it. Refuses with 4.05 unless
 * State is Idle (or a push is being started over), 4.13 when too large.
 */
export async function openPush(m: FirmwareMachine, size1?: number): Promise<PackageSink> {
  const path = m.instance.path(R.Package);
  if (m.push && m.state === FirmwareState.Downloading) {
    // The server started its push over (a new block 0): the old transfer is dead.
    m.push.aborted = true;
    m.push = undefined;
  } else if (m.state !== FirmwareState.Idle) {
    throw new MethodNotAllowedError(`Package is written in State Idle only (State is ${m.state})`, path);
  }
  const max = m.o.maxPackageSize;
  if (size1 !== undefined && size1 > max) {
    await m.fail(FirmwareResult.NotEnoughStorage);
    throw new Lwm2mError('4.13', `package of ${size1} bytes exceeds ${max}`, path);
  }
  const transfer = { aborted: false };
  m.push = transfer;
  m.setPackageUri('');
  await m.set(FirmwareState.Downloading, FirmwareResult.Initial);
  const storage = m.o.storage;
  try {
    await storage.begin(size1);
  } catch (e) {
    m.report(e);
    await m.fail(resultOf(e, FirmwareResult.NotEnoughStorage));
    throw new Lwm2mError('5.00', 'storage refused the package', path);
  }
  // The CoAP layer notices a silent transfer only when another upload comes; a timer makes Update Result 4 happen.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (transfer.aborted || m.push !== transfer) return;
    timer = setTimeout(() => sink.abort(), m.o.pushTimeoutMs ?? 247_000);
    timer.unref();
  };
  const gone = (): Lwm2mError => new Lwm2mError('4.08', 'the package transfer was cancelled', path);
  const sink: PackageSink = {
    write: async (offset, bytes, more) => {
      if (transfer.aborted) throw gone();
      if (offset + bytes.length > max) {
        transfer.aborted = true;
        await m.fail(FirmwareResult.NotEnoughStorage);
        throw new Lwm2mError('4.13', `package exceeds ${max} bytes`, path);
      }
      try {
        await storage.write(offset, bytes);
        if (!more) await storage.finish();
      } catch (e) {
        m.report(e);
        transfer.aborted = true;
        await m.fail(resultOf(e, FirmwareResult.NotEnoughStorage));
        throw new Lwm2mError('5.00', 'storage failed', path);
      }
      if (transfer.aborted) throw gone();
      m.emit('progress', { bytes: offset + bytes.length, total: size1 });
      if (!more) {
        m.push = undefined;
        watch();
        await m.downloaded(() => transfer.aborted);
      } else {
        watch();
      }
    },
    abort: () => {
      if (timer) clearTimeout(timer);
      if (transfer.aborted) return;
      transfer.aborted = true;
      if (m.push === transfer) {
        m.push = undefined;
        m.job = m.fail(FirmwareResult.ConnectionLost);
      }
    },
  };
  watch();
  return sink;
}
