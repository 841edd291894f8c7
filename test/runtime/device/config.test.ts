// Config behaviour on the generated Config class: writes stage, Apply applies through the app, a failed Apply keeps the old setting.
import { Lwm2mError, ValueError } from '../../../runtime/errors.js';
import { withConfigBehaviour, type ConfigApplyFailure, type ConfigApplyFn, type ConfigSetting } from '../../../runtime/device/index.js';
import { ConfigBase } from '../../../generated/config.js';

/** A Config as an app writes it: the mixin gives the standard behaviour, the class says how a setting takes effect. */
class TestConfig extends withConfigBehaviour(ConfigBase) {
  readonly failures: ConfigApplyFailure[] = [];
  readonly applied: ConfigSetting[] = [];
  readonly #apply: ConfigApplyFn;
  constructor(apply: ConfigApplyFn) {
    super(0, { name: 'interval', value: '60' });
    this.#apply = apply;
  }
  applySetting(name: string, value: string): void | Promise<void> {
    return this.#apply(name, value);
  }
  override onApplied(s: ConfigSetting): void {
    this.applied.push(s);
  }
  override onApplyFailed(f: ConfigApplyFailure): void {
    this.failures.push(f);
  }
}

function setup(apply: ConfigApplyFn = () => undefined) {
  const settings = new Map<string, string>();
  const cfg = new TestConfig(async (n, v) => {
    await apply(n, v);
    settings.set(n, v);
  });
  const changes: number[] = [];
  cfg.onChange((_i, rid, source) => { if (source === 'device') changes.push(rid); });
  return { cfg, settings, changes };
}

describe('ConfigBehaviour', () => {
  it('stages Name and Value; reads return the applied setting until Apply succeeds', async () => {
    const { cfg, settings, changes } = setup();
    expect(cfg.readAll()).toEqual(new Map([[0, 'interval'], [1, '60']]));
    await cfg.writeResources(new Map([[0, 'mode'], [1, 'eco']]), 'replace');
    expect(cfg.readResource(0)).toBe('interval');
    expect(cfg.readResource(1)).toBe('60');
    expect(cfg.behaviour.staged).toEqual({ name: 'mode', value: 'eco' });
    await cfg.execute(2);
    expect(settings.get('mode')).toBe('eco');
    expect(cfg.readAll()).toEqual(new Map([[0, 'mode'], [1, 'eco']]));
    expect(cfg.behaviour.staged).toBeUndefined();
    expect(changes).toEqual([0, 1]);
    expect(cfg.applied).toEqual([{ name: 'mode', value: 'eco' }]);
  });

  it('a Value alone changes the setting in effect', async () => {
    const { cfg, settings, changes } = setup();
    await cfg.writeResources(new Map([[1, '30']]), 'update');
    await cfg.execute(2);
    expect(settings.get('interval')).toBe('30');
    expect(cfg.value).toBe('30');
    expect(changes).toEqual([1]);
  });

  it('a failing apply answers 5.00, is reported, and keeps the old value and the stage', async () => {
    const { cfg, changes } = setup((_n, v) => {
      if (v === 'bad') throw new Error('device refused');
    });
    await cfg.writeResources(new Map([[1, 'bad']]), 'update');
    const err = await cfg.execute(2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Lwm2mError);
    expect((err as Lwm2mError).code).toBe('5.00');
    expect((err as Lwm2mError).message).toMatch(/\/26241\/0\/2: applying "interval" failed: device refused/);
    expect(cfg.value).toBe('60');
    expect(cfg.readResource(1)).toBe('60');
    expect(cfg.failures).toEqual([{ name: 'interval', value: 'bad', code: '5.00', error: expect.any(Error) }]);
    expect(changes).toEqual([]);
    // The stage survives: correct the Value and Apply again.
    await cfg.writeResources(new Map([[1, '15']]), 'update');
    await cfg.execute(2);
    expect(cfg.value).toBe('15');
  });

  it('a typed refusal keeps its code (ValueError: 4.00), also when the app rejects', async () => {
    const { cfg } = setup(async (n) => {
      if (n === 'unknown') throw new ValueError('no such setting');
    });
    await cfg.writeResources(new Map([[0, 'unknown'], [1, 'x']]), 'replace');
    await expect(cfg.execute(2)).rejects.toMatchObject({ code: '4.00' });
    expect(cfg.failures[0]).toMatchObject({ code: '4.00', name: 'unknown' });
    expect(cfg.name).toBe('interval');
  });

  it('Apply with nothing staged, or an empty Name, is a 4.00', async () => {
    const { cfg, settings } = setup();
    await expect(cfg.execute(2)).rejects.toMatchObject({ code: '4.00', message: expect.stringMatching(/nothing staged/) });
    await cfg.writeResources(new Map([[0, '']]), 'update');
    await expect(cfg.execute(2)).rejects.toMatchObject({ code: '4.00', message: expect.stringMatching(/Name is empty/) });
    expect(settings.size).toBe(0);
  });

  it('a second Apply while the first is running answers 5.03', async () => {
    let release!: () => void;
    const { cfg } = setup(() => new Promise<void>((r) => { release = r; }));
    await cfg.writeResources(new Map([[1, '10']]), 'update');
    const first = cfg.execute(2);
    await Promise.resolve();
    await expect(cfg.execute(2)).rejects.toMatchObject({ code: '5.03' });
    release();
    await first;
    expect(cfg.value).toBe('10');
  });
});
