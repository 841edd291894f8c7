// check.ts over a real socket: a server write a number resource cannot hold exactly is refused with 4.00, never rounded.
import { ContentFormat, encodeRecords } from '../../../runtime/codec/index.js';
import type { ExecuteArguments } from '../../../runtime/index.js';
import { LwM2MServerBase } from '../../../generated/lwm2m-server.js';
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import { createUdpRig, type UdpRig } from '../../support/registered-client.js';

class Server extends LwM2MServerBase {}
class Firmware extends FirmwareUpdateBase {
  update(_args: ExecuteArguments): void {}
}
const text = new TextDecoder();

let rig: UdpRig;
let server: Server;
let firmware: Firmware;

beforeEach(async () => {
  server = new Server(0, { shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false });
  firmware = new Firmware(0, { packageUri: '', state: 0, updateResult: 0, firmwareUpdateDeliveryMethod: 0 });
  rig = await createUdpRig({ endpointName: 'safe-int', objects: (c) => c.addInstance(server).addInstance(firmware) });
  await rig.register();
});

afterEach(() => rig.close());

test('an unranged Unsigned Integer (/5/0/13, a number): 2^53 + 1 refused with 4.00 naming the path, in text and TLV; 2^40 stored exactly', async () => {
  const refused = await rig.server.write('safe-int', '/5/0/13', '9007199254740993', ContentFormat.TEXT);
  expect(refused.code).toBe('4.00');
  expect(text.decode(refused.payload)).toMatch(/\/5\/0\/13: value 9007199254740993 is beyond the safe integer range/);
  const path = { objectId: 5, instanceId: 0, resourceId: 13 };
  const tlv = encodeRecords(ContentFormat.TLV, path, [{ path, value: 2n ** 60n }], rig.client.registry.lookup);
  expect((await rig.server.write('safe-int', '/5/0/13', tlv, ContentFormat.TLV)).code).toBe('4.00');
  expect(firmware.maximumDeferPeriod).toBeUndefined();
  expect((await rig.server.write('safe-int', '/5/0/13', String(2 ** 40), ContentFormat.TEXT)).code).toBe('2.04');
  expect(firmware.maximumDeferPeriod).toBe(2 ** 40);
  expect(typeof firmware.maximumDeferPeriod).toBe('number');
  // Lifetime (1..2^31-1): the safe-range check speaks before the range does.
  const lifetime = await rig.server.write('safe-int', '/1/0/1', '9007199254740993', ContentFormat.TEXT);
  expect([lifetime.code, text.decode(lifetime.payload)]).toEqual(['4.00', expect.stringMatching(/\/1\/0\/1: value 9007199254740993 is beyond the safe integer range/)]);
  expect(server.lifetime).toBe(300);
});
