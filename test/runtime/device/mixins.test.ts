// withDeviceBehaviour and withConfigBehaviour on the generated classes: what the app writes, what the runtime serves by resource id.
import { ManualClock } from '../../../runtime/coap/clock.js';
import { ValueError } from '../../../runtime/errors.js';
import type { ExecuteArguments } from '../../../runtime/object/execute-args.js';
import { withConfigBehaviour, withDeviceBehaviour } from '../../../runtime/device/index.js';
import { ConfigBase } from '../../../generated/config.js';
import { DeviceBase } from '../../../generated/device.js';

async function execute(inst: { execute: DeviceBase['execute'] }, rid: number, raw = ''): Promise<Array<() => void | Promise<void>>> {
  const tasks: Array<() => void | Promise<void>> = [];
  await inst.execute(rid, raw, (t) => tasks.push(t));
  return tasks;
}

describe('withDeviceBehaviour', () => {
  class Device extends withDeviceBehaviour(DeviceBase, { factoryTimezone: 'Etc/UTC' }) {
    readonly log: string[] = [];
    reboot(a: ExecuteArguments): void {
      this.log.push(`reboot ${a.raw}`);
    }
    protected override onWriteUtcOffset(value: string): void {
      this.log.push(`utc ${value}`);
    }
  }

  it('serves the standard resources with no hook in the class, and keeps the app\'s own hooks', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const d = new Device(0, { supportedBindingAndModes: 'U', timezone: 'Europe/Paris' });
    d.behaviour.configure({ clock, wallClock: () => clock.now() });
    expect(d.missingMandatory()).toEqual([]);
    expect(d.readResource(13)).toEqual(new Date(1_700_000_000_000));
    clock.advance(2000);
    expect(d.readResource(13)).toEqual(new Date(1_700_000_002_000));
    expect(d.readResource(11)).toEqual(new Map([[0, 0]]));
    await expect(d.writeResources(new Map([[14, 'UTC+25:00']]), 'replace')).rejects.toThrow(ValueError);
    expect(d.log).toEqual([]);
    await d.writeResources(new Map([[14, 'UTC+02:00']]), 'replace');
    // The runtime's check runs first, then the app's hook.
    expect(d.log).toEqual(['utc UTC+02:00']);
    await expect(d.writeResources(new Map([[15, 'Mars/Olympus']]), 'replace')).rejects.toThrow(/unknown time zone/);
    expect(d.hasResource(12)).toBe(true);
    expect(d.hasResource(5)).toBe(true);
    d.behaviour.dispose();
  });

  it("runs the app's reboot() only after the response, and Factory Reset's standard part without an app handler", async () => {
    const d = new Device(0, { supportedBindingAndModes: 'U', timezone: 'Europe/Paris' });
    const tasks = await execute(d, 4, "0='now'");
    expect(d.log).toEqual([]);
    for (const t of tasks) await t();
    expect(d.log).toEqual(["reboot 0='now'"]);
    d.behaviour.errors.add(3);
    for (const t of await execute(d, 5)) await t();
    expect(d.timezone).toBe('Etc/UTC');
    expect(d.behaviour.errors.codes).toEqual([]);
    d.behaviour.errors.add(4);
    expect(await execute(d, 12)).toEqual([]);
    expect(d.behaviour.errors.codes).toEqual([]);
    d.behaviour.dispose();
  });
});

describe('withConfigBehaviour', () => {
  class Config extends withConfigBehaviour(ConfigBase) {
    readonly applied: string[] = [];
    applySetting(name: string, value: string): void {
      if (value === 'bad') throw new ValueError('bad value');
      this.applied.push(`${name}=${value}`);
    }
  }

  it('starts from the constructor values, stages writes, and applies through applySetting', async () => {
    const c = new Config(0, { name: 'level', value: '1' });
    expect([c.name, c.value]).toEqual(['level', '1']);
    await c.writeResources(new Map([[1, '2']]), 'replace');
    expect(c.value).toBe('1');
    expect(c.behaviour.staged).toEqual({ name: 'level', value: '2' });
    await c.execute(2);
    expect(c.applied).toEqual(['level=2']);
    expect(c.value).toBe('2');
    await c.writeResources(new Map([[1, 'bad']]), 'replace');
    await expect(c.execute(2)).rejects.toMatchObject({ code: '4.00' });
    expect(c.value).toBe('2');
  });
});
