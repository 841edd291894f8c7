// ObjectInstance, the base of generated classes: checked values, presence, reads, all-or-nothing writes with hooks, executes, change events.
import { BadRequestError, MethodNotAllowedError, NotFoundError, ValueError } from '../../../runtime/errors.js';
import { TestConfig, TestDevice } from '../../support/objects.js';

describe('values and presence', () => {
  test('initial values are checked and stored; a value out of range is a ValueError naming the path', () => {
    const d = new TestDevice();
    expect(d.batteryLevel).toBe(87);
    expect(() => { d.batteryLevel = 101; }).toThrow(ValueError);
    expect(() => { d.batteryLevel = 101; }).toThrow(/\/3\/0\/9/);
    expect(d.batteryLevel).toBe(87);
  });

  test('presence: values and execute handlers count; absent optional resources and unknown ids do not', () => {
    const d = new TestDevice();
    expect(d.hasResource(0)).toBe(true);
    expect(d.hasResource(4)).toBe(true); // Reboot has a handler
    const c = new TestConfig(1);
    expect(c.hasResource(1)).toBe(false); // Level never set
    expect(c.hasResource(999)).toBe(false);
    expect(d.resourceIds()).toEqual([0, 1, 4, 6, 9, 13, 14, 16]);
    expect(d.resourceInstanceIds(6)).toEqual([0, 1]);
  });

  test('reads: 4.04 absent, 4.05 not readable, resource instances of multiple resources', () => {
    const d = new TestDevice();
    expect(d.readResource(0)).toBe('ACME');
    expect(() => d.readResource(4)).toThrow(MethodNotAllowedError);
    expect(() => new TestConfig(1).readResource(1)).toThrow(NotFoundError);
    expect(d.readResourceInstance(6, 1)).toBe(5);
    expect(() => d.readResourceInstance(6, 9)).toThrow(NotFoundError);
    expect(() => d.readResourceInstance(0, 0)).toThrow(NotFoundError);
    expect([...d.readAll().keys()]).toEqual([0, 1, 6, 9, 13, 14, 16]);
  });

  test('an unknown member in the initial values is refused', () => {
    expect(() => new TestConfig(1, { nosuch: 1 } as never)).toThrow(BadRequestError);
  });
});

describe('server writes', () => {
  test('all or nothing: a refusing hook or a bad value leaves every resource as it was', async () => {
    const c = new TestConfig(1, { level: 1, mode: 1 });
    await expect(c.writeResources(new Map([[1, 5], [3, 98]]), 'replace')).rejects.toThrow(BadRequestError);
    expect([c.level, c.mode]).toEqual([1, 1]);
    await expect(c.writeResources(new Map([[1, 11], [3, 2]]), 'replace')).rejects.toThrow(ValueError);
    expect([c.level, c.mode]).toEqual([1, 1]);
    await c.writeResources(new Map([[1, 5], [3, 2]]), 'replace');
    expect([c.level, c.mode]).toEqual([5, 2]);
  });

  test('read-only resources refuse writes except in a Create; update merges resource instances', async () => {
    const c = new TestConfig(1, { tags: ['a', 'b'] });
    await expect(c.writeResources(new Map([[6, 5]]), 'replace')).rejects.toThrow(MethodNotAllowedError);
    await c.writeResources(new Map([[6, 5]]), 'replace', { create: true });
    expect(c.readResource(6)).toBe(5);
    await c.writeResourceInstance(2, 5, 'z');
    expect([...(c.readResource(2) as Map<number, string>).entries()]).toEqual([[0, 'a'], [1, 'b'], [5, 'z']]);
  });

  test('a Replace of the whole instance drops optional writable resources it leaves out', async () => {
    const c = new TestConfig(1, { level: 3, mode: 1 });
    await c.writeResources(new Map<number, string | number>([[0, 'n'], [3, 2]]), 'replace', { instance: true });
    expect(c.hasResource(1)).toBe(false);
    expect(c.mode).toBe(2);
  });

  test('change events name the resource and who changed it; unchanged values emit nothing', async () => {
    const c = new TestConfig(1, { level: 3 });
    const events: Array<[number, string]> = [];
    const off = c.onChange((_i, rid, source) => events.push([rid, source]));
    await c.writeResources(new Map([[1, 3]]), 'replace');
    await c.writeResources(new Map([[1, 4]]), 'replace');
    off();
    await c.writeResources(new Map([[1, 5]]), 'replace');
    expect(events).toEqual([[1, 'server']]);
  });
});

describe('execute', () => {
  test('runs the handler with parsed arguments; 4.05 for a non-executable resource; a failing handler drops its deferred work', async () => {
    const c = new TestConfig(1);
    await c.execute(4, "0='x'");
    expect(c.applied).toEqual(["0='x'"]);
    await expect(c.execute(1)).rejects.toThrow(MethodNotAllowedError);
    await expect(c.execute(4, "0='boom'")).rejects.toThrow('apply exploded');
    await expect(c.execute(4, 'not arguments')).rejects.toThrow(BadRequestError);
  });

  test('afterResponse tasks go to the collector the caller passes', async () => {
    const d = new TestDevice();
    const queued: unknown[] = [];
    await d.execute(4, '', (t) => queued.push(t));
    expect(d.reboots).toHaveLength(1);
    expect(new TestDevice().missingMandatory()).toEqual([]);
  });
});
