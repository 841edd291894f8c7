// A device app's view of generated code: extend the generated classes, use typed setters, hooks and handlers.
import { ValueError, MethodNotAllowedError, NotFoundError, type ExecuteArguments } from 'lwm2m-gen/runtime';
import { DeviceBase, Device, DeviceResource, DeviceBatteryStatusValues, type DeviceValues } from '../../generated/device.js';
import { FirmwareUpdateBase, FirmwareUpdateStateValues, type FirmwareUpdateValues } from '../../generated/firmware-update.js';
import { ConfigBase } from '../../generated/config.js';
import { LwM2MServerBase } from '../../generated/lwm2m-server.js';
import { allObjects } from '../../generated/index.js';

/** The mandatory readable resources of Device: what every constructor call must give. */
const required = { errorCode: [0], supportedBindingAndModes: 'U' } as const;

class MyDevice extends DeviceBase {
  reboots: string[] = [];
  written: Array<[Date, Date | undefined]> = [];
  reboot(args: ExecuteArguments): void {
    this.reboots.push(args.raw);
  }
  protected override onWriteCurrentTime(value: Date, previous: Date | undefined): void {
    if (value.getTime() < 0) throw new ValueError('time before 1970', this.path(DeviceResource.CurrentTime));
    this.written.push([value, previous]);
  }
  protected override onReadMemoryFree(): number {
    return 1234;
  }
}

describe('generated Device class', () => {
  it('embeds the model and exports typed constants', () => {
    expect(Device.id).toBe(3);
    expect(Device.resource(DeviceResource.BatteryLevel)?.range).toMatchObject({ kind: 'interval', min: 0, max: 100 });
    expect(DeviceBatteryStatusValues.Charging).toBe(1);
    expect(FirmwareUpdateStateValues.Downloaded).toBe(2);
    expect(allObjects.map((o) => o.id)).toEqual([0, 1, 3, 5, 26241]);
  });

  it('setters check the model and throw a typed error naming the path', () => {
    const d = new MyDevice(0, { manufacturer: 'ACME', errorCode: [0], supportedBindingAndModes: 'U' });
    d.batteryLevel = 80;
    expect(d.batteryLevel).toBe(80);
    // lwm2m-gen-allow-out-of-range: the setter must refuse 101 (next two lines)
    expect(() => (d.batteryLevel = 101)).toThrow(ValueError);
    expect(() => (d.batteryLevel = 101)).toThrow('/3/0/9: value 101 is outside the range 0..100'); // lwm2m-gen-allow-out-of-range
    expect(d.batteryLevel).toBe(80);
    d.batteryStatus = DeviceBatteryStatusValues.Charging;
    // @ts-expect-error 7 is not a Battery Status value, and the runtime agrees (lwm2m-gen-allow-out-of-range)
    expect(() => (d.batteryStatus = 7)).toThrow(ValueError);
    d.batteryLevel = undefined;
    expect(d.batteryLevel).toBeUndefined();
    expect(d.errorCode).toEqual(new Map([[0, 0]]));
    // lwm2m-gen-allow-out-of-range: the constructor must refuse 33
    expect(() => new MyDevice(0, { ...required, errorCode: [33] })).toThrow('/3/0/11/0');
  });

  it('records changes for observers, once per real change', () => {
    const d = new MyDevice(0, required);
    const seen: number[] = [];
    d.onChange((_i, rid) => seen.push(rid));
    d.batteryLevel = 50;
    d.batteryLevel = 50;
    d.manufacturer = 'ACME';
    expect(seen).toEqual([9, 0]);
  });

  it('runs write hooks on server writes, and a refused write changes nothing', async () => {
    const d = new MyDevice(0, { ...required, timezone: 'Europe/Paris' });
    const t = new Date(1_700_000_000_000);
    await d.writeResources(new Map([[13, t]]), 'replace');
    expect(d.currentTime).toEqual(t);
    expect(d.written).toEqual([[t, undefined]]);
    await expect(d.writeResources(new Map<number, unknown>([[15, 'UTC'], [13, new Date(-5000)]]) as never, 'replace')).rejects.toThrow(ValueError);
    expect(d.timezone).toBe('Europe/Paris');
    expect(d.currentTime).toEqual(t);
    await expect(d.writeResources(new Map([[0, 'x']]), 'replace')).rejects.toThrow(MethodNotAllowedError);
  });

  it('read hooks compute values; executes reach handlers with parsed arguments', async () => {
    const d = new MyDevice(0, required);
    expect(d.memoryFree).toBe(1234);
    expect(d.readResource(10)).toBe(1234);
    await d.execute(4, "0='now',1");
    expect(d.reboots).toEqual(["0='now',1"]);
    await expect(d.execute(5)).rejects.toThrow(NotFoundError);
    await expect(d.execute(9)).rejects.toThrow(MethodNotAllowedError);
    await expect(d.execute(4, '0=now')).rejects.toThrow(/bad Execute arguments/);
  });

  it('mandatory executes are abstract; runtime-handled Server executes are not', () => {
    const make = () =>
      // @ts-expect-error FirmwareUpdateBase is abstract: update() must be implemented (checked by npm run lint)
      new FirmwareUpdateBase(0, { packageUri: '', state: 0, updateResult: 0, firmwareUpdateDeliveryMethod: 0 });
    expect(make()).toBeInstanceOf(FirmwareUpdateBase);
    class Server extends LwM2MServerBase {}
    const s = new Server(0, { shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false });
    expect(s.lifetime).toBe(300);
    class Config extends ConfigBase {
      apply(): void {}
    }
    expect(() => new Config(0, { name: 'x'.repeat(256), value: '' })).toThrow(/256 bytes long, outside 0..255 bytes/);
  });
});

describe('types that fit the hand (checked by npm run lint)', () => {
  it('mandatory readable resources are required constructor values; write-only and executables are none', () => {
    // @ts-expect-error Error Code and Supported Binding and Modes are mandatory
    const v: DeviceValues = { manufacturer: 'x' };
    expect(v.manufacturer).toBe('x');
    // @ts-expect-error the values are required when some are mandatory
    expect(() => new MyDevice(0)).toThrow();
    // @ts-expect-error Package (/5/x/0) is write-only: never a constructor value
    const f: FirmwareUpdateValues = { packageUri: '', state: 0, updateResult: 0, firmwareUpdateDeliveryMethod: 0, package: new Uint8Array() };
    expect(f.state).toBe(0);
    // @ts-expect-error Reboot is an executable
    const r: DeviceValues = { ...required, reboot: () => undefined };
    expect(r.errorCode).toEqual([0]);
  });

  it('integer resources are numbers where the range needs no more than 2^53', () => {
    class Server extends LwM2MServerBase {}
    const server = new Server(0, { shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false });
    const ms: number = (server.lifetime ?? 0) * 1000;
    const d = new MyDevice(0, { ...required, memoryTotal: 4096, memoryFree: 1024 });
    const used: number = (d.memoryTotal ?? 0) - 1024;
    expect([ms, used]).toEqual([300_000, 3072]);
  });

  it('a server write beyond a number resource\'s safe range is refused with 4.00 naming the path, never rounded', async () => {
    class Server extends LwM2MServerBase {}
    const server = new Server(0, { shortServerId: 1, lifetime: 300, binding: 'U', notificationStoringWhenDisabledOrOffline: false });
    const big = 2n ** 53n;
    const refused = server.writeResources(new Map([[1, big]]) as never, 'replace');
    await expect(refused).rejects.toMatchObject({ code: '4.00', path: { objectId: 1, instanceId: 0, resourceId: 1 } });
    await expect(server.writeResources(new Map([[1, big]]) as never, 'replace')).rejects.toThrow(/\/1\/0\/1: value 9007199254740992 is beyond the safe integer range/);
    expect(server.lifetime).toBe(300);
    // A bigint within the safe range (and Lifetime's 1..2^31-1) is stored as the number it is.
    await server.writeResources(new Map([[1, 2n ** 30n]]) as never, 'replace');
    expect(server.lifetime).toBe(2 ** 30);
  });
});

describe('Replace of a whole instance', () => {
  it('removes optional writable resources the payload leaves out, and keeps read-only ones', async () => {
    const d = new MyDevice(0, { ...required, manufacturer: 'ACME', timezone: 'Europe/Paris', utcOffset: 'UTC+01:00' });
    await d.writeResources(new Map([[15, 'UTC']]), 'replace', { instance: true });
    expect(d.timezone).toBe('UTC');
    expect(d.utcOffset).toBeUndefined();
    expect(d.manufacturer).toBe('ACME');
  });
  it('a partial update keeps what the payload leaves out', async () => {
    const d = new MyDevice(0, { ...required, timezone: 'Europe/Paris', utcOffset: 'UTC+01:00' });
    await d.writeResources(new Map([[15, 'UTC']]), 'update');
    expect(d.utcOffset).toBe('UTC+01:00');
  });
});
