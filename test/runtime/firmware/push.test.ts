// Push delivery on its own: blocks to storage in order, Downloaded after the last, refusals with the code the CoAP layer answers.
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import { Lwm2mError, MethodNotAllowedError } from '../../../runtime/errors.js';
import { FirmwareMachine } from '../../../runtime/firmware/machine.js';
import { openPush } from '../../../runtime/firmware/push.js';
import { FirmwareResult as Res, FirmwareState as St, MemoryStorage } from '../../../runtime/firmware/index.js';

class Fw extends FirmwareUpdateBase {
  constructor(instanceId: number) {
    // The machine sets the values it drives, as withFirmwareUpdate does.
    super(instanceId, {} as never);
  }
  update(): void {}
}
function machine(maxPackageSize = 100) {
  const storage = new MemoryStorage();
  const m = new FirmwareMachine(new Fw(0), { storage, maxPackageSize, apply: () => undefined }, () => undefined);
  return { m, storage };
}

test('blocks go to storage; the last makes State Downloaded', async () => {
  const { m, storage } = machine();
  const sink = await openPush(m, 20);
  expect(m.state).toBe(St.Downloading);
  await sink.write(0, new Uint8Array(10).fill(1), true);
  await sink.write(10, new Uint8Array(10).fill(2), false);
  expect(storage.bytes().length).toBe(20);
  expect(m.state).toBe(St.Downloaded);
});

test('too large (announced or growing) is 4.13 and Not Enough Storage; a push outside Idle is 4.05', async () => {
  const a = machine();
  await expect(openPush(a.m, 500)).rejects.toMatchObject({ code: '4.13' });
  expect(a.m.result).toBe(Res.NotEnoughStorage);
  const b = machine();
  const sink = await openPush(b.m);
  await expect(sink.write(0, new Uint8Array(101), false)).rejects.toBeInstanceOf(Lwm2mError);
  expect([b.m.state, b.m.result]).toEqual([St.Idle, Res.NotEnoughStorage]);
  await b.m.set(St.Downloaded, Res.Initial);
  await expect(openPush(b.m)).rejects.toBeInstanceOf(MethodNotAllowedError);
});

test('an aborted transfer is Connection Lost, and its later blocks answer 4.08', async () => {
  const { m } = machine();
  const sink = await openPush(m);
  await sink.write(0, new Uint8Array(10), true);
  sink.abort();
  await m.settled();
  expect([m.state, m.result]).toEqual([St.Idle, Res.ConnectionLost]);
  await expect(sink.write(10, new Uint8Array(10), false)).rejects.toMatchObject({ code: '4.08' });
});
