import { nameObjects, toCamel, toPascal } from '../../generator/names.js';
import type { ObjectModel, ResourceModel } from '../../runtime/model.js';

const res = (id: number, name: string, over: Partial<ResourceModel> = {}): ResourceModel => ({
  id, name, operations: 'RW', type: 'Integer', multiple: false, mandatory: false, ...over,
});
const obj = (id: number, name: string, resources: ResourceModel[]): ObjectModel => ({
  id, name, urn: `urn:oma:lwm2m:x:${id}`, objectVersion: '1.0', lwm2mVersion: '1.0', multiple: false, mandatory: false, resources,
});

describe('names', () => {
  it('camel- and Pascal-cases registry names', () => {
    expect(toCamel('Battery Level')).toBe('batteryLevel');
    expect(toCamel('IMEI')).toBe('imei');
    expect(toCamel('SMS MO Counter')).toBe('smsMoCounter');
    expect(toCamel('Tx Power [dBm]')).toBe('txPowerDBm');
    expect(toCamel('Min/Max  Value')).toBe('minMaxValue');
    expect(toCamel('A\u00a0B')).toBe('aB');
    expect(toCamel('Rx+Tx | total.bytes')).toBe('rxPlusTxTotalBytes');
    expect(toPascal('LwM2M Server')).toBe('LwM2MServer');
  });
  it('escapes leading digits, reserved words and base-class members', () => {
    const [o] = nameObjects([obj(26242, '3-Phase Meter', [
      res(0, 'package'), res(1, 'switch'), res(2, 'class'), res(3, 'delete', { operations: 'E', type: 'none' }),
      res(4, 'constructor'), res(5, '__proto__'), res(6, '2G Band'), res(7, 'Path'), res(8, '***'),
    ])]);
    expect(o!.className).toBe('_3PhaseMeter');
    expect(o!.fileName).toBe('3phase-meter');
    expect(o!.resources.map((r) => r.member)).toEqual([
      'package_', 'switch_', 'class_', 'delete_', 'constructor_', 'proto', '_2gBand', 'path_', 'resource8',
    ]);
  });
  it('settles collisions by id, deterministically, whatever the input order', () => {
    const resources = [res(5, 'Sensor Value'), res(1, 'Sensor value'), res(3, 'sensor-value'), res(2, 'On Write Sensor Value')];
    const a = nameObjects([obj(26242, 'X', resources)])[0]!;
    const b = nameObjects([obj(26242, 'X', [...resources].reverse())])[0]!;
    expect(a.resources.map((r) => [r.model.id, r.member])).toEqual([[1, 'sensorValue'], [2, 'onWriteSensorValue'], [3, 'sensorValue_3'], [5, 'sensorValue_5']]);
    expect(b.resources.map((r) => [r.model.id, r.member])).toEqual(a.resources.map((r) => [r.model.id, r.member]));
    // The hook of resource 1 may not take resource 2's member name.
    expect(a.resources[0]!.onWrite).toBe('onWriteSensorValue_1');
  });
  it('gives two objects with one name distinct classes and files', () => {
    const named = nameObjects([obj(3336, 'Location', [res(0, 'A')]), obj(6, 'Location', [res(0, 'A')])]);
    expect(named.map((n) => [n.model.id, n.className, n.fileName])).toEqual([[6, 'Location', 'location'], [3336, 'Location_3336', 'location-3336']]);
  });
});

describe('file names and reserved members', () => {
  it('keep acronyms whole: lwm2m-server.ts, coap-config.ts, nusim-profile.ts', () => {
    const files = nameObjects([
      obj(1, 'LwM2M Server', []), obj(2, 'LwM2M Access Control', []), obj(3, 'CoAP Config', []), obj(4, 'nuSIM Profile', []),
      obj(5, 'IoT Device', []), obj(6, 'PagingDRX', []), obj(7, '3-Phase Power Meter', []), obj(8, 'DevCapMgmt', []),
    ]).map((o) => o.fileName);
    expect(files).toEqual(['lwm2m-server', 'lwm2m-access-control', 'coap-config', 'nusim-profile', 'iot-device', 'paging-drx', '3phase-power-meter', 'dev-cap-mgmt']);
  });

  it('every member of the runtime\'s ObjectInstance is escaped (the list is the runtime\'s own, and complete)', async () => {
    const { ObjectInstance, OBJECT_INSTANCE_MEMBERS } = await import('../../runtime/object/instance.js');
    const own = Object.getOwnPropertyNames(ObjectInstance.prototype).filter((n) => n !== 'constructor');
    for (const n of [...own, 'definition', 'instanceId']) expect(OBJECT_INSTANCE_MEMBERS).toContain(n);
    const [o] = nameObjects([obj(26300, 'X', [res(0, 'Path'), res(1, 'Read All'), res(2, 'Definition')])]);
    expect(o!.resources.map((r) => r.member)).toEqual(['path_', 'readAll_', 'definition_']);
  });
});
