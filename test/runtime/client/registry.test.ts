// The client's object registry: what may be added, ids, and the events the client and Observe depend on.
import { ClientUsageError, ObjectRegistry, type RegistryEvent } from '../../../runtime/client/registry.js';
import { ConfigDef, DeviceDef, TestConfig, TestDevice } from '../../support/objects.js';

describe('ObjectRegistry', () => {
  it('adds objects on the way, refuses duplicate instances and a second instance of a single-instance object', () => {
    const reg = new ObjectRegistry();
    reg.addInstance(new TestDevice());
    expect(reg.object(3)?.definition).toBe(DeviceDef);
    expect(() => reg.addInstance(new TestDevice())).toThrow(ClientUsageError);
    reg.addInstance(new TestConfig(4));
    expect(() => reg.addInstance(new TestConfig(4))).toThrow(/already exists/);
    expect(reg.lookup(10250, 1)?.name).toBe('Level');
    expect(reg.lookup(10250, 99)).toBeUndefined();
    expect(reg.lookup(77, 0)).toBeUndefined();
  });

  it('hands out the lowest free instance id and lists instances in id order', () => {
    const reg = new ObjectRegistry();
    reg.addObject(ConfigDef);
    expect(reg.freeInstanceId(10250)).toBe(0);
    for (const id of [2, 0, 1, 5]) reg.addInstance(new TestConfig(id));
    expect(reg.freeInstanceId(10250)).toBe(3);
    expect(reg.instances(10250).map((i) => i.instanceId)).toEqual([0, 1, 2, 5]);
    expect(reg.objects().map((o) => o.definition.id)).toEqual([10250]);
  });

  it('reports additions, removals and resource changes, and stops listening to removed instances', () => {
    const reg = new ObjectRegistry();
    const events: string[] = [];
    reg.onEvent((e: RegistryEvent) => events.push(e.kind === 'resource-changed'
      ? `${e.kind} /${e.objectId}/${e.instanceId}/${e.resourceId} ${e.source}` : `${e.kind} ${e.objectId}`));
    const dev = new TestDevice();
    reg.addInstance(dev);
    dev.batteryLevel = 12;
    expect(reg.removeInstance(3, 0)).toBe(true);
    expect(reg.removeInstance(3, 0)).toBe(false);
    dev.batteryLevel = 13;
    expect(events).toEqual(['object-added 3', 'instance-added 3', 'resource-changed /3/0/9 device', 'instance-removed 3']);
  });
});
