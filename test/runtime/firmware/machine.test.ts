// The /5 state machine on its own: moves published as resources and persisted, restore after a restart, verify and describe.
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import { FirmwareMachine } from '../../../runtime/firmware/machine.js';
import { FirmwareFailure, FirmwareResult as Res, FirmwareState as St, MemoryStorage, type FirmwareEvents } from '../../../runtime/firmware/index.js';
import { MemoryPersistence } from './fixtures.js';

class Fw extends FirmwareUpdateBase {
  constructor(instanceId: number) {
    // The machine sets the values it drives, as withFirmwareUpdate does.
    super(instanceId, {} as never);
  }
  update(): void {}
}

function machine(over: Record<string, unknown> = {}) {
  const fw = new Fw(0);
  const events: Array<[keyof FirmwareEvents, unknown]> = [];
  const persist = new MemoryPersistence();
  const storage = new MemoryStorage();
  const m = new FirmwareMachine(fw, { storage, maxPackageSize: 1000, apply: () => undefined, persist, now: () => 5_000, ...over }, (e, v) => events.push([e, v]));
  return { fw, m, events, persist, storage };
}

test('a move publishes State and Update Result, tells listeners and persists the snapshot', async () => {
  const { fw, m, events, persist } = machine();
  expect(fw.readResource(3)).toBe(St.Idle);
  expect(fw.readResource(8)).toEqual(new Map([[0, 0], [1, 4], [2, 2], [3, 3]])); // coap, coap+tcp, http, https (LwM2M 1.2 codes)
  await m.set(St.Downloading, Res.Initial);
  expect(fw.readResource(3)).toBe(St.Downloading);
  expect(events).toEqual([['state', { state: St.Downloading, result: Res.Initial }]]);
  expect(persist.saved).toMatchObject({ state: St.Downloading, result: Res.Initial, lastStateChange: 5_000 });
});

test('restore: an interrupted push ends with Connection Lost, an interrupted apply with Success when the new image booted', async () => {
  const a = machine();
  a.persist.saved = { state: St.Downloading, result: Res.Initial, packageUri: '', pkgName: '', pkgVersion: '', lastStateChange: 1 };
  await a.m.restore(() => { throw new Error('no pull expected'); });
  expect([a.m.state, a.m.result]).toEqual([St.Idle, Res.ConnectionLost]);
  const b = machine({ bootedNewFirmware: () => false });
  b.persist.saved = { state: St.Updating, result: Res.Initial, packageUri: '', pkgName: 'fw', pkgVersion: '2', lastStateChange: 1 };
  await b.m.restore(() => undefined);
  expect([b.m.state, b.m.result]).toEqual([St.Idle, Res.UpdateFailed]);
});

test('restore resumes an interrupted pull with the saved URI', async () => {
  const { m, persist } = machine();
  persist.saved = { state: St.Downloading, result: Res.Initial, packageUri: 'coap://127.0.0.1/fw', pkgName: '', pkgVersion: '', lastStateChange: 1 };
  const resumed: string[] = [];
  await m.restore((url) => resumed.push(url.href));
  expect(resumed).toEqual(['coap://127.0.0.1/fw']);
});

test("downloaded: a failed check is Integrity Check Failure (or the app's own result), a passed one Downloaded with package info", async () => {
  const bad = machine({ verify: () => false });
  await bad.m.downloaded(() => false);
  expect([bad.m.state, bad.m.result]).toEqual([St.Idle, Res.IntegrityCheckFailure]);
  expect(bad.storage.calls.discard).toBe(1);
  const own = machine({ verify: () => { throw new FirmwareFailure(Res.UnsupportedPackageType, 'wrong type'); } });
  await own.m.downloaded(() => false);
  expect(own.m.result).toBe(Res.UnsupportedPackageType);
  const good = machine({ verify: () => true, describe: () => ({ name: 'fw', version: '2.0' }) });
  await good.m.downloaded(() => false);
  expect(good.m.state).toBe(St.Downloaded);
  expect([good.fw.readResource(6), good.fw.readResource(7)]).toEqual(['fw', '2.0']);
});
