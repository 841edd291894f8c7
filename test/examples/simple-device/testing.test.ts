// The example device tested the way `lwm2m-gen init`'s scaffold tests its device: lwm2m-gen/testing, typed by the generated classes.
import { DeviceBase } from '../../../generated/device.js';
import { startSimpleDevice, type SimpleDevice } from '../../../examples/simple-device/index.js';
import { TestLwm2mServer, type RegisteredDevice } from 'lwm2m-gen/testing';

let server: TestLwm2mServer;
let running: SimpleDevice;
let dev: RegisteredDevice;
const lines: string[] = [];

beforeAll(async () => {
  server = await TestLwm2mServer.start();
  // No simulated battery drain during the test: the observed change is the test's own.
  running = await startSimpleDevice({
    server: server.uri(), endpoint: 'sim-typed', simulationIntervalMs: 3_600_000, log: (l) => lines.push(l),
  });
  dev = await server.registration('sim-typed');
});

afterAll(async () => {
  await running.stop();
  await server.close();
});

test('a Read of /3/0 gives the device as it started', async () => {
  const values = await dev.read(DeviceBase, 0);
  expect(values).toMatchObject({ manufacturer: 'lwm2m-gen', modelNumber: 'simple-device', firmwareVersion: '1.0.0' });
  expect(values.batteryLevel).toBeGreaterThan(0);
});

test('a Write of Current Time sets the device clock', async () => {
  const time = new Date('2030-01-01T00:00:00Z');
  await dev.write(DeviceBase, 0, 'currentTime', time);
  const now = await dev.read(DeviceBase, 0, 'currentTime');
  expect(Math.abs(now.getTime() - time.getTime())).toBeLessThan(5000);
});

test('an Execute of Reboot restarts the device, which registers again', async () => {
  const from = server.log.length;
  await dev.execute(DeviceBase, 0, 'reboot');
  await server.waitFor('register', () => true, from);
  await running.rebooting;
  expect(lines).toContain('reboot: restarting');
  dev = await server.registration('sim-typed');
});

test('an observed Battery Level notifies each change', async () => {
  const battery = await dev.observe(DeviceBase, 0, 'batteryLevel');
  running.device.batteryLevel = 42;
  expect(await battery.next(5000)).toBe(42);
  await battery.cancel();
});
