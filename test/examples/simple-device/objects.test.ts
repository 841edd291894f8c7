// The simulated device's objects without sockets: battery and memory over simulation steps, the Ticker, Config settings.
import { ManualClock } from '../../../runtime/coap/clock.js';
import { SimConfig, SimDevice, Ticker, DEFAULT_SETTINGS } from '../../../examples/simple-device/objects.js';

function device(): SimDevice {
  const clock = new ManualClock(1_700_000_000_000);
  return new SimDevice({
    clock, wallClock: () => clock.now(), serial: 'S1', binding: 'U', onReboot: () => undefined, onFactoryReset: () => undefined,
  });
}

it('the battery drains to 10 %, flags low battery (error 1) below 20 %, recharges to 100 %, and memory moves', () => {
  const d = device();
  const seen = new Set<number>();
  d.onChange((_i, rid) => seen.add(rid));
  const memory = new Set<number | bigint | undefined>();
  for (let i = 0; i < 80; i++) {
    d.simulate();
    memory.add(d.memoryFree);
  }
  expect(d.batteryLevel).toBe(20);
  expect(d.errorCode).toEqual(new Map([[0, 1]]));
  expect(d.batteryStatus).toBe(4);
  for (let i = 0; i < 10; i++) d.simulate();
  expect(d.batteryLevel).toBe(10);
  expect(d.batteryStatus).toBe(1);
  for (let i = 0; i < 18; i++) d.simulate();
  expect(d.batteryLevel).toBe(100);
  expect(d.batteryStatus).toBe(2);
  expect(d.errorCode).toEqual(new Map([[0, 0]]));
  expect(memory.size).toBeGreaterThan(10);
  expect([...seen].sort((a, b) => a - b)).toEqual([9, 10, 11, 20]);
  d.resetSimulation();
  expect([d.batteryLevel, d.batteryStatus, d.memoryFree]).toEqual([100, 0, 40_000]);
  d.behaviour.dispose();
});

it('Ticker repeats on its clock with one timer and takes a new period', () => {
  const clock = new ManualClock();
  let n = 0;
  const t = new Ticker(() => n++, 1000, clock);
  t.start();
  t.start();
  clock.advance(3000);
  expect(n).toBe(3);
  t.period = 500;
  clock.advance(1000);
  expect(n).toBe(5);
  expect(clock.pending).toBe(1);
  t.stop();
  expect(clock.pending).toBe(0);
});

it('Config applies known settings and refuses others with 4.00', async () => {
  const settings = new Map(Object.entries(DEFAULT_SETTINGS));
  const applied: string[] = [];
  const failed: string[] = [];
  const c = new SimConfig({ settings, onApplied: (s) => applied.push(`${s.name}=${s.value}`), onApplyFailed: (f) => failed.push(f.code) });
  await c.writeResources(new Map([[0, 'telemetryInterval'], [1, '30']]), 'replace');
  await c.execute(2);
  expect(settings.get('telemetryInterval')).toBe('30');
  await c.writeResources(new Map([[1, '0']]), 'update');
  await expect(c.execute(2)).rejects.toMatchObject({ code: '4.00' });
  await c.writeResources(new Map([[0, 'colour'], [1, 'blue']]), 'replace');
  await expect(c.execute(2)).rejects.toMatchObject({ code: '4.00', message: expect.stringMatching(/unknown setting "colour"/) });
  expect(applied).toEqual(['telemetryInterval=30']);
  expect(failed).toEqual(['4.00', '4.00']);
  expect(c.value).toBe('30');
});
