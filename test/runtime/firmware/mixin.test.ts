// withFirmwareUpdate on the generated class: nothing forwarded, the updater serves Package, Package URI, Update and Cancel by resource id.
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import { FirmwareResult, FirmwareState, MemoryStorage, withFirmwareUpdate } from '../../../runtime/firmware/index.js';

class Firmware extends withFirmwareUpdate(FirmwareUpdateBase) {}

it('a class with no members takes a pushed package, updates after the response and reports success', async () => {
  let applied = 0;
  const storage = new MemoryStorage();
  const fw = new Firmware(0, { storage, maxPackageSize: 64, apply: () => { applied++; } });
  await fw.updater.ready;
  expect(fw.missingMandatory()).toEqual([]);
  expect(fw.readResource(9)).toBe(2);
  await fw.writeResources(new Map([[0, new Uint8Array([1, 2, 3])]]), 'replace');
  expect(fw.readResource(3)).toBe(FirmwareState.Downloaded);
  expect([...storage.bytes()]).toEqual([1, 2, 3]);
  const tasks: Array<() => void | Promise<void>> = [];
  await fw.execute(2, '', (t) => tasks.push(t));
  for (const t of tasks) await t();
  await fw.updater.settled();
  expect(applied).toBe(1);
  expect([fw.readResource(3), fw.readResource(5)]).toEqual([FirmwareState.Idle, FirmwareResult.Success]);
});

it('refuses a package over maxPackageSize, and a Package URI write outside Idle, through the attached behaviour', async () => {
  const fw = new Firmware(0, { storage: new MemoryStorage(), maxPackageSize: 2, apply: () => undefined });
  await expect(fw.writeResources(new Map([[0, new Uint8Array([1, 2, 3])]]), 'replace')).rejects.toMatchObject({ code: '4.13' });
  await fw.writeResources(new Map([[0, new Uint8Array([1])]]), 'replace');
  await expect(fw.writeResources(new Map([[1, 'coap://127.0.0.1/fw']]), 'replace')).rejects.toMatchObject({ code: '4.05' });
  await fw.execute(10);
  expect(fw.readResource(3)).toBe(FirmwareState.Idle);
});
