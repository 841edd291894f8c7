// RegisteredDevice against a real client over UDP on 127.0.0.1: every operation typed by the generated classes, in every content format.
import { ContentFormat, type ExecuteArguments } from '../../runtime/index.js';
import { ConfigBase } from '../../generated/config.js';
import { DeviceBase } from '../../generated/device.js';
import { LwM2MServerBase } from '../../generated/lwm2m-server.js';
import { RequestError, type RegisteredDevice } from 'lwm2m-gen/testing';
import { startRegisteredClient, type UdpRig } from '../support/registered-client.js';

class Device extends DeviceBase {
  readonly reboots: string[] = [];
  reboot(args: ExecuteArguments): void {
    this.reboots.push(args.raw);
  }
}
class Server extends LwM2MServerBase {}
class Config extends ConfigBase {
  applied = 0;
  apply(): void {
    this.applied++;
  }
}

const EP = 'typed-dev';
let rig: UdpRig;
let device: Device;
let dev: RegisteredDevice;

beforeEach(async () => {
  device = new Device(0, {
    manufacturer: 'ACME', batteryLevel: 87, errorCode: [0], supportedBindingAndModes: 'U',
    availablePowerSources: [1, 5], currentTime: new Date(1_700_000_000_000), utcOffset: '+01:00',
  });
  rig = await startRegisteredClient({
    endpointName: EP,
    objects: (c) => {
      c.addInstance(new Server(0, {
        shortServerId: 1, lifetime: 300, notificationStoringWhenDisabledOrOffline: false, binding: 'U', defaultMinimumPeriod: 0,
      })).addInstance(device);
      c.addObject(Config.model, { create: (id) => new Config(id, { name: '', value: '' }) }).addInstance(new Config(0, { name: 'mode', value: 'eco' }));
    },
  });
  dev = await rig.server.registration(EP);
});

afterEach(() => rig.close());

const formats = [
  ['TLV', ContentFormat.TLV], ['SenML JSON', ContentFormat.SENML_JSON], ['SenML CBOR', ContentFormat.SENML_CBOR],
  ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
] as const;

describe('RegisteredDevice', () => {
  it('reads a resource as its typed value, in text and in every multi-value format', async () => {
    const level: number | undefined = await dev.read(DeviceBase, 0, 'batteryLevel');
    expect(level).toBe(87);
    expect(await dev.read(DeviceBase, 0, 'manufacturer', { format: ContentFormat.TEXT })).toBe('ACME');
    for (const [, format] of formats) {
      expect(await dev.read(DeviceBase, 0, 'currentTime', { format })).toEqual(new Date(1_700_000_000_000));
      expect(await dev.read(DeviceBase, 0, 'availablePowerSources', { format })).toEqual(new Map([[0, 1], [1, 5]]));
    }
  });

  it('reads an instance by member name', async () => {
    for (const [, format] of formats) {
      const values = await dev.read(DeviceBase, 0, { format });
      expect(values).toMatchObject({ manufacturer: 'ACME', batteryLevel: 87, utcOffset: '+01:00', supportedBindingAndModes: 'U' });
      expect(values.errorCode).toEqual(new Map([[0, 0]]));
    }
  });

  it('writes a resource (replace) and an instance (replace and partial update) in each format', async () => {
    await dev.write(DeviceBase, 0, 'currentTime', new Date(1_800_000_000_000));
    expect(await dev.read(DeviceBase, 0, 'currentTime')).toEqual(new Date(1_800_000_000_000));
    for (const [name, format] of formats) {
      await dev.write(ConfigBase, 0, { name: `n-${name}`, value: 'v' }, { format });
      expect(await dev.read(ConfigBase, 0)).toEqual({ name: `n-${name}`, value: 'v' });
      await dev.write(ConfigBase, 0, { value: `partial-${name}` }, { format, mode: 'update' });
      expect(await dev.read(ConfigBase, 0)).toEqual({ name: `n-${name}`, value: `partial-${name}` });
    }
  });

  it('executes with arguments, as text or by number', async () => {
    await dev.execute(DeviceBase, 0, 'reboot');
    await dev.execute(DeviceBase, 0, 'reboot', "0='soon'");
    await dev.execute(DeviceBase, 0, 'reboot', { 0: 'later', 1: null });
    expect(device.reboots).toEqual(['', "0='soon'", "0='later',1"]);
  });

  it('rejects a refused request with a RequestError carrying the code and the path', async () => {
    const err = await dev.write(ConfigBase, 0, 'name', 'x'.repeat(300)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect(err).toMatchObject({ code: '4.00', path: '/26241/0/0', operation: 'write' });
    await expect(dev.read(DeviceBase, 0, 'memoryFree')).rejects.toMatchObject({ code: '4.04', path: '/3/0/10' });
    await expect(dev.read(DeviceBase, 0, 'manufacturer', { format: ContentFormat.OPAQUE }))
      .rejects.toMatchObject({ code: '4.06' });
    await expect(dev.execute(DeviceBase, 0, 'factoryReset')).rejects.toMatchObject({ code: '4.04', path: '/3/0/5' });
  });

  it('discovers, writes attributes (set and remove), deletes and creates', async () => {
    await dev.writeAttributes(DeviceBase, 0, 'batteryLevel', { pmin: 5, pmax: 50 });
    const links = await dev.discover(DeviceBase, 0, 'batteryLevel');
    expect(links).toEqual([{ target: '/3/0/9', attributes: [['pmin', 5], ['pmax', 50]] }]);
    await dev.writeAttributes(DeviceBase, 0, 'batteryLevel', { pmax: null });
    expect((await dev.discover(DeviceBase, 0, 'batteryLevel'))[0]!.attributes).toEqual([['pmin', 5]]);
    await dev.writeAttributes(DeviceBase, 0, { pmax: 60 });
    expect((await dev.discover(DeviceBase, 0)).map((l) => l.target)).toContain('/3/0/9');

    await dev.delete(ConfigBase, 0);
    await expect(dev.read(ConfigBase, 0)).rejects.toMatchObject({ code: '4.04', path: '/26241/0' });
    expect(await dev.create(ConfigBase, { name: 'a', value: 'b' })).toBe(0);
    expect(await dev.read(ConfigBase, 0, 'name')).toBe('a');
    await dev.delete(ConfigBase, 0);
    expect(await dev.create(ConfigBase, { name: 'c', value: 'd' }, { instanceId: 0, format: ContentFormat.SENML_JSON })).toBe(0);
    expect(await dev.read(ConfigBase, 0, 'value')).toBe('d');
  });

  it('observes a resource: the first value, each change in order, and cancel ends the iteration', async () => {
    const obs = await dev.observe(DeviceBase, 0, 'batteryLevel');
    expect(obs.value).toBe(87);
    device.batteryLevel = 60;
    device.batteryLevel = 59;
    const seen: number[] = [];
    for await (const level of obs) {
      seen.push(level);
      if (level === 59) break;
    }
    expect(seen.at(-1)).toBe(59);
    expect(obs.cancelled).toBe(true);
    expect(rig.client.observations.observations.size).toBe(0);
  });

  it('observes an instance in a chosen format, and ends with a RequestError when the instance goes', async () => {
    const obs = await dev.observe(ConfigBase, 0, { format: ContentFormat.SENML_CBOR });
    expect(obs.value).toEqual({ name: 'mode', value: 'eco' });
    await dev.write(ConfigBase, 0, 'value', 'turbo');
    expect(await obs.next(5000)).toEqual({ name: 'mode', value: 'turbo' });
    expect(obs.notifications.at(-1)?.contentFormat).toBe(ContentFormat.SENML_CBOR);
    await dev.delete(ConfigBase, 0);
    await expect(obs.next(5000)).rejects.toMatchObject({ code: '4.04', path: '/26241/0' });
  });

  it('knows the registration it came from', () => {
    expect(dev.info).toMatchObject({ endpoint: EP, lifetime: 300, binding: 'U' });
    expect(dev.info.links).toContain('</3/0>');
  });
});
