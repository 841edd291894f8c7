// Deferred update (Firmware Update 1.2): Update Result 11 within Severity and Maximum Defer Period, asked again until the deadline, installed unasked at it, cancelled, restored, and the automatic upgrade at download.
import type { DeferRequest } from '../../../runtime/firmware/index.js';
import { FirmwareResult as Res, FirmwareSeverity, FirmwareState as St } from '../../../runtime/firmware/index.js';
import { Firmware, MemoryPersistence, firmwareRig, makePackage, type FirmwareRig } from './fixtures.js';

const set = (fw: Firmware, values: Record<number, number | boolean>) =>
  fw.writeResources(new Map(Object.entries(values).map(([k, v]) => [Number(k), v])), 'update');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A rig whose defer hook answers from `answers` in turn (true: the user defers) and records what it was asked. */
function deferRig(answers: boolean[], over: Parameters<typeof firmwareRig>[0] = {}): FirmwareRig & { asked: DeferRequest[] } {
  const asked: DeferRequest[] = [];
  const rig = firmwareRig({ defer: (req) => { asked.push(req); return answers.shift() ?? false; }, ...over });
  return Object.assign(rig, { asked });
}

async function downloaded(r: FirmwareRig): Promise<void> {
  await r.fw.writeResources(new Map([[0, makePackage(100)]]), 'replace');
  expect(r.fw.updater.state).toBe(St.Downloaded);
}

describe('deferred update', () => {
  test('the user defers: Result 11, State stays Downloaded, and at the deadline it installs without asking', async () => {
    const r = deferRig([true]);
    await set(r.fw, { 11: FirmwareSeverity.Optional, 13: 1 });
    await downloaded(r);
    const before = Date.now();
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect([r.fw.readResource(3), r.fw.readResource(5), r.applied]).toEqual([St.Downloaded, Res.Deferred, 0]);
    expect(r.asked).toHaveLength(1);
    expect([r.asked[0]!.severity, r.asked[0]!.maxDeferPeriod]).toEqual([FirmwareSeverity.Optional, 1]);
    expect(Math.abs(r.asked[0]!.deadline.getTime() - before - 1000)).toBeLessThan(500);
    for (let i = 0; i < 40 && r.applied === 0; i++) await sleep(50);
    await r.fw.updater.settled();
    expect([r.fw.readResource(3), r.fw.readResource(5), r.applied, r.asked.length]).toEqual([St.Idle, Res.Success, 1, 1]);
    expect(r.states).toEqual([[St.Downloading, 0], [St.Downloaded, 0], [St.Downloaded, Res.Deferred], [St.Updating, 0], [St.Idle, Res.Success]]);
  });

  test('asked again at each Update before the deadline; a no installs at once', async () => {
    const r = deferRig([true, false]);
    await set(r.fw, { 13: 3600 });
    await downloaded(r);
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect(r.fw.readResource(5)).toBe(Res.Deferred);
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect([r.asked.length, r.applied, r.fw.readResource(5)]).toEqual([2, 1, Res.Success]);
    // The deadline of the second question is the first deferral's: deferring does not extend it.
    expect(r.asked[1]!.deadline).toEqual(r.asked[0]!.deadline);
  });

  test.each([
    ['Severity Critical', { 11: FirmwareSeverity.Critical, 13: 3600 }],
    ['Maximum Defer Period 0', { 13: 0 }],
    ['no Maximum Defer Period', {}],
  ])('%s: installs without asking', async (_name, values) => {
    const r = deferRig([true]);
    await set(r.fw, values);
    await downloaded(r);
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect([r.asked.length, r.applied, r.fw.readResource(5)]).toEqual([0, 1, Res.Success]);
  });

  test('Cancel ends a deferred update (Result 10); its deadline then installs nothing', async () => {
    const r = deferRig([true]);
    await set(r.fw, { 13: 1 });
    await downloaded(r);
    await r.fw.execute(2);
    await r.fw.updater.settled();
    await r.fw.execute(10);
    expect([r.fw.readResource(3), r.fw.readResource(5)]).toEqual([St.Idle, Res.Cancelled]);
    await sleep(1300);
    expect(r.applied).toBe(0);
  });

  test('a deferral survives a restart: the restored updater installs at the persisted deadline', async () => {
    const persist = new MemoryPersistence();
    const r = deferRig([true], { persist });
    await set(r.fw, { 13: 1 });
    await downloaded(r);
    await r.fw.execute(2);
    await r.fw.updater.settled();
    expect(persist.saved?.result).toBe(Res.Deferred);
    expect(persist.saved?.deferredUntil).toBeGreaterThan(Date.now());
    await r.fw.execute(10); // the old process is gone: its timer must not count
    persist.saved = { ...persist.saved!, state: St.Downloaded, result: Res.Deferred, deferredUntil: Date.now() + 300 };
    const again = deferRig([], { persist, storage: r.storage });
    await again.fw.updater.ready;
    expect([again.fw.readResource(3), again.fw.readResource(5)]).toEqual([St.Downloaded, Res.Deferred]);
    for (let i = 0; i < 40 && again.applied === 0; i++) await sleep(50);
    await again.fw.updater.settled();
    expect([again.applied, again.fw.readResource(5), again.asked.length]).toEqual([1, Res.Success, 0]);
  });

  test('Automatic Upgrade at Download: a package that reached Downloaded installs without an Update, asking first when it may', async () => {
    const plain = deferRig([]);
    await set(plain.fw, { 14: true });
    // The install starts as the package reaches Downloaded, so State may already be Updating here.
    await plain.fw.writeResources(new Map([[0, makePackage(100)]]), 'replace');
    await plain.fw.updater.settled();
    for (let i = 0; i < 20 && plain.applied === 0; i++) await sleep(10);
    await plain.fw.updater.settled();
    expect([plain.applied, plain.fw.readResource(5)]).toEqual([1, Res.Success]);

    const asking = deferRig([true]);
    await set(asking.fw, { 14: true, 13: 3600 });
    await asking.fw.writeResources(new Map([[0, makePackage(100)]]), 'replace');
    for (let i = 0; i < 20 && asking.asked.length === 0; i++) await sleep(10);
    await asking.fw.updater.settled();
    expect([asking.asked.length, asking.applied, asking.fw.readResource(5)]).toEqual([1, 0, Res.Deferred]);
    await asking.fw.execute(10);
  });
});
