// Device (/3) behaviours on a generated Device class: ticking clock with a fake clock, time zone checks, error list, Reboot after the response.
import { ManualClock } from '../../../runtime/coap/clock.js';
import { ValueError } from '../../../runtime/errors.js';
import type { ExecuteArguments } from '../../../runtime/object/execute-args.js';
import {
  DeviceBehaviour, DeviceClock, ErrorCodeList, checkTimezone, parseUtcOffset, withDeviceBehaviour, type DeviceBehaviourOptions,
} from '../../../runtime/device/index.js';
import { DeviceBase } from '../../../generated/device.js';

const T0 = 1_700_000_000_000; // a whole second

interface Actions {
  readonly onReboot?: (a: ExecuteArguments) => void;
  readonly onFactoryReset?: (a: ExecuteArguments) => void;
}

/** A device as an app writes it: the mixin gives the standard behaviour, the class adds Reboot and Factory Reset. */
class TestDevice extends withDeviceBehaviour(DeviceBase) {
  readonly #actions: Actions;
  constructor(options: DeviceBehaviourOptions, actions: Actions = {}) {
    super(0, { supportedBindingAndModes: 'U', utcOffset: 'UTC+01:00', timezone: 'Europe/Paris' });
    this.behaviour.configure(options);
    this.#actions = actions;
  }
  reboot(a: ExecuteArguments): void {
    this.#actions.onReboot?.(a);
  }
  override factoryReset(a: ExecuteArguments): void {
    this.#actions.onFactoryReset?.(a);
  }
}

function setup(extra: Omit<DeviceBehaviourOptions, 'clock' | 'wallClock'> = {}, actions: Actions = {}) {
  const clock = new ManualClock(T0 + 250);
  const dev = new TestDevice({ clock, wallClock: () => clock.now(), ...extra }, actions);
  const changes: number[] = [];
  dev.onChange((_i, rid) => changes.push(rid));
  return { clock, dev, changes };
}

/** Runs execute the way the client does: collecting afterResponse tasks, returning them unrun. */
async function execute(dev: TestDevice, rid: number, raw = ''): Promise<Array<() => void | Promise<void>>> {
  const tasks: Array<() => void | Promise<void>> = [];
  await dev.execute(rid, raw, (t) => tasks.push(t));
  return tasks;
}

describe('UTC Offset and Timezone checks', () => {
  it.each([
    ['UTC+01:00', 'UTC+01:00'], ['UTC-05:30', 'UTC-05:30'], ['+02', 'UTC+02:00'], ['UTC+1400', 'UTC+14:00'], ['Z', 'UTC+00:00'],
  ])('accepts %s', (text, normal) => {
    expect(parseUtcOffset(text)).toBe(normal);
  });
  it.each(['UTC+1', 'GMT+01:00', 'UTC+15:00', 'UTC-12:30', 'UTC+01:60', '', '01:00'])('refuses %j with a ValueError', (text) => {
    expect(() => parseUtcOffset(text)).toThrow(ValueError);
  });
  it('takes IANA names only', () => {
    expect(checkTimezone('Europe/Paris')).toBe('Europe/Paris');
    expect(checkTimezone('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
    expect(checkTimezone('Etc/UTC')).toBe('Etc/UTC');
    for (const bad of ['Mars/Olympus', '+01:00', '', 'Europe/Paris; DROP']) expect(() => checkTimezone(bad)).toThrow(ValueError);
  });
});

describe('DeviceClock', () => {
  it('ticks once a second on the second boundary with one timer, and keeps the written offset', () => {
    const clock = new ManualClock(T0 + 400);
    let ticks = 0;
    const c = new DeviceClock({ clock, wallClock: () => clock.now(), onTick: () => ticks++ });
    expect(c.now().getTime()).toBe(T0);
    c.start();
    c.start();
    expect(clock.pending).toBe(1);
    clock.advance(599);
    expect(ticks).toBe(0);
    clock.advance(1);
    expect(ticks).toBe(1);
    expect(c.now().getTime()).toBe(T0 + 1000);
    c.set(new Date(Date.UTC(2030, 0, 1)));
    expect(c.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    clock.advance(3000);
    expect(c.now().toISOString()).toBe('2030-01-01T00:00:03.000Z');
    expect(ticks).toBe(4);
    expect(clock.pending).toBe(1);
    c.reset();
    expect(c.now().getTime()).toBe(T0 + 4000);
    c.stop();
    expect(clock.pending).toBe(0);
    expect(c.running).toBe(false);
  });
});

describe('DeviceBehaviour on a generated Device', () => {
  it('Current Time ticks every second and observers hear each tick', () => {
    const { clock, dev, changes } = setup();
    dev.behaviour.start();
    expect(dev.readResource(13)).toEqual(new Date(T0));
    clock.advance(750);
    clock.advance(2000);
    expect(changes).toEqual([13, 13, 13]);
    expect(dev.readResource(13)).toEqual(new Date(T0 + 3000));
    dev.behaviour.stop();
    expect(clock.pending).toBe(0);
  });

  it('a server write sets the clock, which keeps ticking from there', async () => {
    const { clock, dev, changes } = setup();
    dev.behaviour.start();
    const set = new Date(Date.UTC(2031, 5, 1, 12, 0, 0));
    await dev.writeResources(new Map([[13, set]]), 'replace');
    expect(dev.currentTime).toEqual(set);
    expect(changes).toContain(13);
    clock.advance(5000);
    expect(dev.currentTime).toEqual(new Date(set.getTime() + 5000));
    // The same value again (the store sees no change) still resets the clock.
    await dev.writeResources(new Map([[13, set]]), 'replace');
    expect(dev.currentTime).toEqual(set);
    expect(clock.pending).toBe(1);
    dev.behaviour.stop();
  });

  it('a refused write in the same request leaves the clock alone (all or nothing)', async () => {
    const { dev } = setup();
    const before = dev.currentTime;
    await expect(dev.writeResources(new Map<number, string | Date>([[13, new Date(Date.UTC(2040, 0, 1))], [15, 'Mars/Base']]) as never, 'replace'))
      .rejects.toThrow(ValueError);
    expect(dev.currentTime).toEqual(before);
    expect(dev.timezone).toBe('Europe/Paris');
  });

  it('UTC Offset and Timezone writes are checked', async () => {
    const { dev } = setup();
    await dev.writeResources(new Map([[14, 'UTC-03:00'], [15, 'America/Sao_Paulo']]), 'replace');
    expect(dev.utcOffset).toBe('UTC-03:00');
    expect(dev.timezone).toBe('America/Sao_Paulo');
    await expect(dev.writeResources(new Map([[14, 'three hours']]), 'replace')).rejects.toThrow('/3/0/14');
    await expect(dev.writeResources(new Map([[15, 'Nowhere/Land']]), 'replace')).rejects.toThrow('/3/0/15');
    expect(dev.utcOffset).toBe('UTC-03:00');
  });

  it('Error Code holds a single 0 when there is no error, lists errors, and Reset Error Code clears them', async () => {
    const { dev, changes } = setup();
    expect(dev.readResource(11)).toEqual(new Map([[0, 0]]));
    dev.behaviour.errors.add(1);
    dev.behaviour.errors.add(7);
    expect(dev.behaviour.errors.add(7)).toBe(false);
    expect(dev.readResource(11)).toEqual(new Map([[0, 1], [1, 7]]));
    dev.behaviour.errors.remove(1);
    expect(dev.readResource(11)).toEqual(new Map([[0, 7]]));
    expect(() => dev.behaviour.errors.add(0)).toThrow(ValueError);
    expect(() => dev.behaviour.errors.add(33)).toThrow(ValueError);
    expect(changes.filter((c) => c === 11)).toHaveLength(3);
    expect(await execute(dev, 12)).toEqual([]);
    expect(dev.readResource(11)).toEqual(new Map([[0, 0]]));
    expect(changes.filter((c) => c === 11)).toHaveLength(4);
    expect(new ErrorCodeList().codes).toEqual([]);
  });

  it('Reboot runs its action only after the response (the queued task), with the arguments', async () => {
    const reboots: string[] = [];
    const { dev } = setup({}, { onReboot: (a) => { reboots.push(a.raw); } });
    const tasks = await execute(dev, 4, "0='soft'");
    expect(reboots).toEqual([]);
    expect(tasks).toHaveLength(1);
    await tasks[0]!();
    expect(reboots).toEqual(["0='soft'"]);
  });

  it('without a collector, the task runs on the next macrotask, not inside execute()', async () => {
    let rebooted = false;
    const { dev } = setup({}, { onReboot: () => { rebooted = true; } });
    await dev.execute(4);
    expect(rebooted).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect(rebooted).toBe(true);
  });

  it('Factory Reset restores the clock, the time zone settings and the errors, then calls the app', async () => {
    const calls: string[] = [];
    const { clock, dev } = setup({ factoryUtcOffset: 'UTC+01:00', factoryTimezone: 'Europe/Paris' }, { onFactoryReset: () => { calls.push('reset'); } });
    await dev.writeResources(new Map<number, string | Date>([[13, new Date(Date.UTC(2050, 0, 1))], [14, 'UTC+05:00'], [15, 'Asia/Karachi']]) as never, 'replace');
    dev.behaviour.errors.add(5);
    const tasks = await execute(dev, 5);
    expect(calls).toEqual([]);
    expect(dev.timezone).toBe('Asia/Karachi');
    for (const t of tasks) await t();
    expect(calls).toEqual(['reset']);
    expect(dev.currentTime).toEqual(new Date(Math.floor(clock.now() / 1000) * 1000));
    expect(dev.utcOffset).toBe('UTC+01:00');
    expect(dev.timezone).toBe('Europe/Paris');
    expect(dev.errorCode).toEqual(new Map([[0, 0]]));
  });

  it('an action that fails after the response rejects its task (the client reports it as an error event)', async () => {
    const { dev } = setup({}, { onReboot: () => { throw new Error('watchdog'); } });
    const tasks = await execute(dev, 4);
    await expect(Promise.resolve().then(tasks[0]!)).rejects.toThrow('watchdog');
  });

  it('refuses an instance of another object', () => {
    const notDevice = { definition: { id: 5 } } as unknown as DeviceBase;
    expect(() => new DeviceBehaviour(notDevice, () => undefined)).toThrow(/serves object 3/);
  });
});
