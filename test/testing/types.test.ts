// The typed face of lwm2m-gen/testing: `npm run lint` (tsc strict) checks the @ts-expect-error lines; jest checks the runtime agrees.
import { ContentFormat, type ExecuteArguments } from '../../runtime/index.js';
import { DeviceBase } from '../../generated/device.js';
import { LwM2MServerBase } from '../../generated/lwm2m-server.js';
import type { ExecuteMember, RegisteredDevice, ResourceMember } from 'lwm2m-gen/testing';
import { startRegisteredClient, type UdpRig } from '../support/registered-client.js';

class Device extends DeviceBase {
  reboot(_args: ExecuteArguments): void {}
}

/** Compile-time assertion that two types are the same. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const same = <T extends true>(): T => true as T;

// Member lists come from the generated class: value resources and execute handlers, none of ObjectInstance's own.
same<Equal<Extract<ResourceMember<DeviceBase>, 'batteryLevel' | 'currentTime'>, 'batteryLevel' | 'currentTime'>>();
same<Equal<ExecuteMember<DeviceBase>, 'reboot' | 'factoryReset' | 'resetErrorCode'>>();
same<Equal<Extract<ResourceMember<DeviceBase>, 'reboot' | 'readAll' | 'definition'>, never>>();

let rig: UdpRig;
let dev: RegisteredDevice;

beforeAll(async () => {
  rig = await startRegisteredClient({
    endpointName: 'types-dev',
    objects: (c) => {
      c.addInstance(new (class extends LwM2MServerBase {})(0, {
        shortServerId: 1, lifetime: 300, notificationStoringWhenDisabledOrOffline: false, binding: 'U',
      })).addInstance(new Device(0, { batteryLevel: 42, errorCode: [0], supportedBindingAndModes: 'U', currentTime: new Date(0) }));
    },
  });
  dev = await rig.server.registration('types-dev');
});

afterAll(() => rig.close());

describe('typed requests', () => {
  it('gives each resource its type and refuses what the model does not have', async () => {
    const level: number | undefined = await dev.read(DeviceBase, 0, 'batteryLevel');
    expect(level).toBe(42);
    const time: Date = await dev.read(DeviceBase, 0, 'currentTime', { format: ContentFormat.TEXT });
    expect(time).toBeInstanceOf(Date);
    const errors: ReadonlyMap<number, number> = await dev.read(DeviceBase, 0, 'errorCode');
    expect(errors.get(0)).toBe(0);

    // @ts-expect-error: Device has no such resource
    await expect(dev.read(DeviceBase, 0, 'noSuchResource')).rejects.toThrow('noSuchResource is not a resource of Device (/3)');
    // @ts-expect-error: Current Time is a Time, not a string
    await expect(dev.write(DeviceBase, 0, 'currentTime', 'yesterday')).rejects.toThrow();
    // @ts-expect-error: Reboot is executed, not read
    await expect(dev.read(DeviceBase, 0, 'reboot')).rejects.toMatchObject({ code: '4.05', path: '/3/0/4' });
    // @ts-expect-error: Battery Level is a value, not an executable resource
    await expect(dev.execute(DeviceBase, 0, 'batteryLevel')).rejects.toMatchObject({ code: '4.05' });
    // @ts-expect-error: a whole-instance write takes member names only
    await expect(dev.write(DeviceBase, 0, { batteryLevl: 3 })).rejects.toThrow('batteryLevl is not a resource');
  });
});
