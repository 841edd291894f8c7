// What a conformant device refuses, and the spec's defaults, over real UDP with generated classes and the runtime's mixins.
import { ContentFormat, encodeRecords } from '../../../runtime/codec/index.js';
import {
  ClientUsageError, Lwm2mClient, MissingMandatoryError, connectClient, type ConnectedClient,
} from '../../../runtime/client/index.js';
import { createUdpEndpoint } from '../../../runtime/coap/index.js';
import { withConfigBehaviour, withDeviceBehaviour } from '../../../runtime/device/index.js';
import { MemoryStorage, withFirmwareUpdate } from '../../../runtime/firmware/index.js';
import { NOTIFY_PRESET_2016, type NotifyPolicy } from '../../../runtime/notify/index.js';
import { Config, ConfigBase } from '../../../generated/config.js';
import { DeviceBase, type DeviceValues } from '../../../generated/device.js';
import { FirmwareUpdateBase } from '../../../generated/firmware-update.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';

const text = new TextDecoder();
const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };

class MyDevice extends withDeviceBehaviour(DeviceBase) {
  reboots = 0;
  reboot(): void {
    this.reboots++;
  }
}
class MyConfig extends withConfigBehaviour(ConfigBase) {
  applySetting(): void {}
}
class MyFirmware extends withFirmwareUpdate(FirmwareUpdateBase) {}

let server: TestLwm2mServer;
let connected: ConnectedClient | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: fast });
});

afterEach(async () => {
  const device = connected?.client.registry.instance(3, 0) as MyDevice | undefined;
  device?.behaviour.dispose();
  await connected?.close();
  connected = undefined;
  await server.close();
});

async function device(ep: string, notifyPolicy?: NotifyPolicy): Promise<ConnectedClient> {
  connected = await connectClient(`coap://127.0.0.1:${server.address().port}`, {
    endpointName: ep, coap: fast, retry: { initialDelayMs: 20 }, preferredFormat: ContentFormat.TLV,
    ...(notifyPolicy ? { notifyPolicy } : {}),
  });
  connected.client
    .addInstance(new MyDevice(0, { manufacturer: 'ACME', supportedBindingAndModes: 'U' }))
    .addInstance(new MyFirmware(0, { storage: new MemoryStorage(), maxPackageSize: 1024, apply: () => undefined }))
    .addObject(Config, { create: (id) => new MyConfig(id, { name: '', value: '' }) })
    .addInstance(new MyConfig(0, { name: 'a', value: 'b' }));
  const registered = connected.client.next('registered');
  await connected.client.start();
  await registered;
  return connected;
}

describe('refusals', () => {
  it('Delete of an object without Create/Delete support is 4.05 and the instance stays', async () => {
    await device('c-1');
    expect((await server.delete('c-1', '/3/0')).code).toBe('4.05');
    expect(text.decode((await server.read('c-1', '/3/0/0')).payload)).toBe('ACME');
    expect((await server.delete('c-1', '/5/0')).code).toBe('4.05');
    expect((await server.read('c-1', '/5/0/3')).code).toBe('2.05');
    // An object added with a create factory may lose instances.
    expect((await server.delete('c-1', `/${Config.id}/0`)).code).toBe('2.02');
  });

  it('a Create without every mandatory resource is 4.00 and creates nothing', async () => {
    const { client } = await device('c-2');
    // Config is single-instance: make room first.
    expect((await server.delete('c-2', `/${Config.id}/0`)).code).toBe('2.02');
    const lookup = client.registry.lookup;
    const onlyName = encodeRecords(ContentFormat.TLV, { objectId: Config.id }, [
      { path: { objectId: Config.id, instanceId: 5, resourceId: 0 }, value: 'logLevel' },
    ], lookup);
    const res = await server.create('c-2', `/${Config.id}`, onlyName, ContentFormat.TLV);
    expect(res.code).toBe('4.00');
    expect(text.decode(res.payload)).toMatch(/mandatory resource 1 \(Value\)/);
    expect(client.registry.instance(Config.id, 5)).toBeUndefined();
    const both = encodeRecords(ContentFormat.TLV, { objectId: Config.id }, [
      { path: { objectId: Config.id, instanceId: 5, resourceId: 0 }, value: 'logLevel' },
      { path: { objectId: Config.id, instanceId: 5, resourceId: 1 }, value: 'info' },
    ], lookup);
    expect((await server.create('c-2', `/${Config.id}`, both, ContentFormat.TLV)).code).toBe('2.01');
    expect(client.registry.instance(Config.id, 5)).toBeDefined();
  });

  it('start() rejects an instance without its mandatory readable resources, naming every one', async () => {
    class BareDevice extends DeviceBase {
      reboot(): void {}
    }
    const endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0 });
    try {
      const client = new Lwm2mClient({ endpointName: 'bare', transport: endpoint, server: server.address() });
      // The types ask for the mandatory values; a JavaScript app (or a cast) gets past them, and start() still refuses.
      client.addInstance(new BareDevice(0, {} as DeviceValues));
      const err = await client.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MissingMandatoryError);
      expect((err as MissingMandatoryError).missing).toEqual([
        { path: '/3/0/11', name: 'Error Code' }, { path: '/3/0/16', name: 'Supported Binding and Modes' },
      ]);
      expect((err as Error).message).toBe('mandatory resources without a value: /3/0/11 (Error Code), /3/0/16 (Supported Binding and Modes)');
      expect(server.registrations.size).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it('refuses to announce a preferred format it cannot encode several values in', async () => {
    await expect(connectClient(`coap://127.0.0.1:${server.address().port}`, { endpointName: 'f', preferredFormat: 60 }))
      .rejects.toThrow(ClientUsageError);
    await expect(connectClient(`coap://127.0.0.1:${server.address().port}`, { endpointName: 'f', preferredFormat: ContentFormat.TEXT }))
      .rejects.toThrow(/cannot be announced/);
  });
});

describe('defaults', () => {
  it('with no attributes and no Default Minimum Period, a resource changing every second notifies within 2 s', async () => {
    await device('c-3');
    // Current Time ticks each second (the Device mixin); the runtime's /1 has no Default Minimum Period.
    expect((await server.read('c-3', '/1/0/2')).code).toBe('4.04');
    const started = Date.now();
    const obs = await server.observe('c-3', '/3/0/13', ContentFormat.TEXT);
    const first = await obs.next();
    const second = await obs.next();
    expect(Date.now() - started).toBeLessThan(2500);
    expect(Number(text.decode(second.payload))).toBeGreaterThan(Number(text.decode(first.payload)));
  });

  it('the 2016 preset, opted into, holds a change back for its pmin of 300 s; the default sends it at once', async () => {
    const quiet = (ms: number) => new Promise<'quiet'>((r) => setTimeout(() => r('quiet'), ms));
    const { client } = await device('c-4');
    (client.registry.instance(3, 0) as MyDevice).batteryLevel = 60;
    const obs = await server.observe('c-4', '/3/0/9', ContentFormat.TEXT);
    expect(obs.response.code).toBe('2.05');
    (client.registry.instance(3, 0) as MyDevice).batteryLevel = 50;
    expect(text.decode((await obs.next()).payload)).toBe('50');
    (client.registry.instance(3, 0) as MyDevice).behaviour.dispose();
    await connected!.close();
    const preset = await device('c-5', NOTIFY_PRESET_2016);
    (preset.client.registry.instance(3, 0) as MyDevice).batteryLevel = 60;
    const held = await server.observe('c-5', '/3/0/9', ContentFormat.TEXT);
    expect(held.response.code).toBe('2.05');
    (preset.client.registry.instance(3, 0) as MyDevice).batteryLevel = 40;
    expect(await Promise.race([held.next(), quiet(1500)])).toBe('quiet');
  });
});
