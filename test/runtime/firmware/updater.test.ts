// The /5 state machine without a network: push in one piece, verify, Update, Cancel, resets, URIs, persistence.
import { jest } from '@jest/globals';
import { Lwm2mError } from '../../../runtime/errors.js';
import type { AfterResponseTask } from '../../../runtime/object/execute-args.js';
import { FirmwareFailure, FirmwareResult as Res, FirmwareState as St } from '../../../runtime/firmware/index.js';
import { Firmware, MemoryPersistence, firmwareRig, makePackage, sha256 } from './fixtures.js';

const write = (fw: Firmware, id: number, v: Uint8Array | string) => fw.writeResources(new Map([[id, v]]), 'replace');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof Lwm2mError) return e.code;
    throw e;
  }
}

describe('firmware update state machine', () => {
  test('starts Idle/Initial with protocol support, delivery method and a state change time', () => {
    const { fw } = firmwareRig({ now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
    expect(fw.readResource(3)).toBe(St.Idle);
    expect(fw.readResource(5)).toBe(Res.Initial);
    expect(fw.readResource(1)).toBe('');
    expect([...(fw.readResource(8) as Map<number, number>).values()]).toEqual([0, 4, 2, 3]);
    expect(fw.readResource(9)).toBe(2);
    expect((fw.readResource(12) as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(fw.missingMandatory()).toEqual([]);
  });

  test('push in one piece → Downloaded, verified, package kept out of the instance; Update → Updating → Idle/Success', async () => {
    const pkg = makePackage(3000);
    const r = firmwareRig({ digest: sha256(pkg), describe: () => ({ name: 'fw', version: '2.0' }) });
    await write(r.fw, 0, pkg);
    expect(r.fw.updater.state).toBe(St.Downloaded);
    expect(r.fw.readResource(6)).toBe('fw');
    expect(r.fw.readResource(7)).toBe('2.0');
    expect(r.storage.bytes()).toEqual(pkg);
    await new Promise((res) => setImmediate(res));
    expect(r.fw.package_).toEqual(new Uint8Array(0));
    await r.fw.execute(2);
    expect(r.fw.readResource(3)).toBe(St.Updating);
    expect(r.applied).toBe(0); // the 2.04 goes out first
    await r.fw.updater.settled();
    expect(r.applied).toBe(1);
    expect(r.states).toEqual([[St.Downloading, 0], [St.Downloaded, 0], [St.Updating, 0], [St.Idle, Res.Success]]);
  });

  test('Update outside Downloaded is 4.05 in Idle, Downloading and Updating', async () => {
    const r = firmwareRig({ apply: () => new Promise<void>(() => undefined) });
    expect(await codeOf(r.fw.execute(2))).toBe('4.05');
    await write(r.fw, 0, makePackage(10));
    await r.fw.execute(2);
    expect(await codeOf(r.fw.execute(2))).toBe('4.05');
    const s = firmwareRig();
    const sink = await s.fw.updater.openPackageStream();
    await sink.write(0, makePackage(16), true);
    expect(s.fw.updater.state).toBe(St.Downloading);
    expect(await codeOf(s.fw.execute(2))).toBe('4.05');
  });

  test('a failing apply is Update Result 8 and Idle', async () => {
    const r = firmwareRig({ apply: () => { throw new Error('flash write failed'); } });
    const errors: Error[] = [];
    r.fw.updater.on('error', (e) => errors.push(e));
    await write(r.fw, 0, makePackage(10));
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.UpdateFailed]);
    expect(errors.map((e) => e.message)).toEqual(['flash write failed']);
    expect(r.storage.size()).toBe(0);
  });

  test('Update through an Execute applies only when the afterResponse task runs; a direct update() still applies', async () => {
    const r = firmwareRig();
    await write(r.fw, 0, makePackage(10));
    const queued: AfterResponseTask[] = [];
    await r.fw.execute(2, '', (t) => queued.push(t));
    expect(queued).toHaveLength(1);
    // Nothing but the queued task starts apply: no timer or tick does it behind the router's back.
    await new Promise((res) => setTimeout(res, 0));
    await new Promise((res) => setImmediate(res));
    expect([r.applied, r.fw.updater.state]).toEqual([0, St.Updating]);
    await queued[0]!();
    expect([r.applied, r.fw.updater.state, r.fw.updater.result]).toEqual([1, St.Idle, Res.Success]);
    await r.fw.updater.settled();
    // App code calling update() without an Execute gets the next-macrotask fallback.
    const d = firmwareRig();
    await write(d.fw, 0, makePackage(10));
    await d.fw.updater.update();
    expect([d.applied, d.fw.updater.state]).toEqual([0, St.Updating]);
    await d.fw.updater.settled();
    expect([d.applied, d.fw.updater.state, d.fw.updater.result]).toEqual([1, St.Idle, Res.Success]);
  });

  test('a package failing verify is Update Result 5, Idle, dropped; apply never runs', async () => {
    const r = firmwareRig({ digest: sha256(makePackage(100, 1)) });
    await write(r.fw, 0, makePackage(100, 2));
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.IntegrityCheckFailure]);
    expect(r.storage.size()).toBe(0);
    expect(await codeOf(r.fw.execute(2))).toBe('4.05');
    expect(r.applied).toBe(0);
  });

  test('a package over maxPackageSize is refused with 4.13 and Update Result 2', async () => {
    const r = firmwareRig({ maxPackageSize: 100 });
    expect(await codeOf(write(r.fw, 0, makePackage(101)))).toBe('4.13');
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.NotEnoughStorage]);
    // Announced too large (Size1) is refused before a byte is stored.
    const s = firmwareRig({ maxPackageSize: 100 });
    expect(await codeOf(s.fw.updater.openPackageStream(500))).toBe('4.13');
    expect(s.storage.calls.write).toBe(0);
    // Growing too large block by block.
    const sink = await s.fw.updater.openPackageStream();
    await sink.write(0, makePackage(64), true);
    expect(await codeOf(sink.write(64, makePackage(64), true))).toBe('4.13');
    expect([s.fw.updater.state, s.fw.updater.result]).toEqual([St.Idle, Res.NotEnoughStorage]);
    expect(await codeOf(sink.write(128, makePackage(64), false))).toBe('4.08');
  });

  test('Cancel drops a downloaded package (Result 10); an empty Package or Package URI write resets (Result 0)', async () => {
    const r = firmwareRig();
    await write(r.fw, 0, makePackage(10));
    await r.fw.execute(10);
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.Cancelled]);
    expect(r.storage.size()).toBe(0);
    await write(r.fw, 0, makePackage(10));
    await write(r.fw, 0, new Uint8Array(0));
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.Initial]);
    await write(r.fw, 0, makePackage(10));
    await write(r.fw, 0, new Uint8Array([0]));
    expect(r.fw.updater.state).toBe(St.Idle);
    await write(r.fw, 0, makePackage(10));
    await write(r.fw, 1, '');
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.Initial]);
  });

  test('Cancel during a push stops it: later blocks get 4.08', async () => {
    const r = firmwareRig();
    const sink = await r.fw.updater.openPackageStream();
    await sink.write(0, makePackage(16), true);
    await r.fw.execute(10);
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.Cancelled]);
    expect(await codeOf(sink.write(16, makePackage(16), false))).toBe('4.08');
    expect(r.fw.updater.state).toBe(St.Idle);
  });

  test('a push whose transfer is abandoned is Update Result 4', async () => {
    const r = firmwareRig();
    const sink = await r.fw.updater.openPackageStream();
    await sink.write(0, makePackage(16), true);
    sink.abort();
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.ConnectionLost]);
  });

  test('Cancel while Updating is 4.05; writes outside Idle are 4.05', async () => {
    const r = firmwareRig({ apply: () => new Promise<void>(() => undefined) });
    await write(r.fw, 0, makePackage(10));
    expect(await codeOf(write(r.fw, 1, 'http://127.0.0.1/x'))).toBe('4.05');
    expect(await codeOf(write(r.fw, 0, makePackage(10)))).toBe('4.05');
    await r.fw.execute(2);
    expect(await codeOf(r.fw.execute(10))).toBe('4.05');
    expect(await codeOf(write(r.fw, 1, ''))).toBe('4.05');
  });

  test('bad URIs: not a URI → 7, unknown or unoffered scheme → 9; the Write itself succeeds', async () => {
    const r = firmwareRig({ protocols: ['http'] });
    await write(r.fw, 1, 'not a uri');
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.InvalidUri]);
    await write(r.fw, 1, 'ftp://127.0.0.1/fw.bin');
    expect(r.fw.updater.result).toBe(Res.UnsupportedProtocol);
    await write(r.fw, 1, 'coap://127.0.0.1/fw.bin');
    expect(r.fw.updater.result).toBe(Res.UnsupportedProtocol);
    expect([...(r.fw.readResource(8) as Map<number, number>).values()]).toEqual([2]);
  });

  test('state changes reach observers through the instance change events', async () => {
    let t = 0;
    const r = firmwareRig({ now: () => (t += 1000) });
    const changed: number[] = [];
    r.fw.onChange((_i, id) => changed.push(id));
    await write(r.fw, 0, makePackage(10));
    expect(changed).toContain(3);
    expect(changed).toContain(12);
  });

  test('a restart inside apply reports Success once the device is up (persisted State Updating)', async () => {
    const persist = new MemoryPersistence();
    const first = firmwareRig({ persist, apply: () => new Promise<void>(() => undefined), describe: () => ({ version: '2.0' }) });
    await first.fw.updater.ready;
    await write(first.fw, 0, makePackage(10));
    await first.fw.execute(2);
    expect(persist.saved?.state).toBe(St.Updating);
    // "Reboot": a new instance on the same persistence.
    const second = firmwareRig({ persist });
    await second.fw.updater.ready;
    expect([second.fw.readResource(3), second.fw.readResource(5)]).toEqual([St.Idle, Res.Success]);
    expect(second.fw.readResource(7)).toBe('2.0');
    expect(persist.saved).toMatchObject({ state: St.Idle, result: Res.Success });
    // A device that fell back to the old image reports 8.
    persist.saved = { ...persist.saved!, state: St.Updating, result: Res.Initial };
    const third = firmwareRig({ persist, bootedNewFirmware: () => false });
    await third.fw.updater.ready;
    expect([third.fw.readResource(3), third.fw.readResource(5)]).toEqual([St.Idle, Res.UpdateFailed]);
  });

  test('a restart keeps Downloaded, and turns an interrupted push into Result 4', async () => {
    const persist = new MemoryPersistence();
    const first = firmwareRig({ persist });
    await write(first.fw, 0, makePackage(10));
    const second = firmwareRig({ persist });
    await second.fw.updater.ready;
    expect(second.fw.readResource(3)).toBe(St.Downloaded);
    persist.saved = { ...persist.saved!, state: St.Downloading, packageUri: '' };
    const third = firmwareRig({ persist });
    await third.fw.updater.ready;
    expect([third.fw.readResource(3), third.fw.readResource(5)]).toEqual([St.Idle, Res.ConnectionLost]);
  });

  test('refuses a maxPackageSize that is not positive', () => {
    expect(() => firmwareRig({ maxPackageSize: 0 })).toThrow(RangeError);
  });
});

describe('push timeout', () => {
  beforeEach(() => { jest.useFakeTimers(); });
  afterEach(() => { jest.useRealTimers(); });
  test('a push with no block for pushTimeoutMs is Update Result 4', async () => {
    const r = firmwareRig({ pushTimeoutMs: 1000 });
    const sink = await r.fw.updater.openPackageStream();
    await sink.write(0, makePackage(16), true);
    jest.advanceTimersByTime(999);
    expect(r.fw.updater.state).toBe(St.Downloading);
    await sink.write(16, makePackage(16), true);
    jest.advanceTimersByTime(999);
    expect(r.fw.updater.state).toBe(St.Downloading);
    jest.advanceTimersByTime(1);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.ConnectionLost]);
  });
});

describe('FirmwareFailure names the Update Result', () => {
  test('verify → 6 Unsupported package type, apply → 3 Out of memory, storage → its own code', async () => {
    const a = firmwareRig({ verify: () => { throw new FirmwareFailure(Res.UnsupportedPackageType, 'not our image format'); } });
    await write(a.fw, 0, makePackage(10));
    expect([a.fw.updater.state, a.fw.updater.result]).toEqual([St.Idle, Res.UnsupportedPackageType]);
    const b = firmwareRig({ apply: () => { throw new FirmwareFailure(Res.OutOfMemory, 'no RAM to decompress'); } });
    await write(b.fw, 0, makePackage(10));
    await b.fw.execute(2);
    await b.fw.updater.settled();
    expect([b.fw.updater.state, b.fw.updater.result]).toEqual([St.Idle, Res.OutOfMemory]);
    const c = firmwareRig();
    c.storage.write = () => { throw new FirmwareFailure(Res.OutOfMemory, 'buffer full'); };
    const sink = await c.fw.updater.openPackageStream();
    await expect(sink.write(0, makePackage(16), true)).rejects.toThrow();
    expect([c.fw.updater.state, c.fw.updater.result]).toEqual([St.Idle, Res.OutOfMemory]);
  });
});
