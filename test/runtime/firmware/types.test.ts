// The Firmware Update vocabulary: State, Update Result and Protocol Support codes as LwM2M 1.2 numbers them; FirmwareFailure.
import { FirmwareFailure, FirmwareProtocolCode, FirmwareResult, FirmwareState } from '../../../runtime/firmware/types.js';

test('codes as object 5 defines them', () => {
  expect(FirmwareState).toEqual({ Idle: 0, Downloading: 1, Downloaded: 2, Updating: 3 });
  expect(Object.values(FirmwareResult)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  expect(FirmwareProtocolCode).toEqual({ coap: 0, coaps: 1, http: 2, https: 3, 'coap+tcp': 4, 'coaps+tcp': 5 });
});

test('FirmwareFailure carries the Update Result it stands for', () => {
  const e = new FirmwareFailure(FirmwareResult.OutOfMemory, 'no room');
  expect([e.result, e.message, e.name]).toEqual([3, 'no room', 'FirmwareFailure']);
  expect(e).toBeInstanceOf(Error);
});
