// The wiring the client does, end to end without sockets: ObjectInstance changes → registry → scheduler → send.
import { defineObject, type ResourceContent } from '../../../runtime/model.js';
import { ObjectInstance } from '../../../runtime/object/instance.js';
import type { Peer } from '../../../runtime/coap/types.js';
import {
  AttributeStore, attributeSource, ManualClock, ManualSchedulerClock, NotifyScheduler, ObservationRegistry, parseWriteAttributes,
  type ObservationHandlers, type ServerDefaults,
} from '../../../runtime/notify/index.js';

const S = 1000;
const Temperature = defineObject({
  id: 3303,
  name: 'Temperature',
  urn: 'urn:oma:lwm2m:ext:3303',
  objectVersion: '1.0',
  lwm2mVersion: '1.0',
  multiple: true,
  mandatory: false,
  resources: [
    { id: 5700, name: 'Sensor Value', operations: 'R', type: 'Float', multiple: false, mandatory: true },
    { id: 5701, name: 'Sensor Units', operations: 'R', type: 'String', multiple: false, mandatory: false },
  ],
});

class Sensor extends ObjectInstance {
  constructor(instanceId: number) {
    super(Temperature, instanceId, { 5700: { property: 'value' }, 5701: { property: 'units' } });
  }
  set value(v: number) {
    this.setResource(5700, v);
  }
  set units(v: string) {
    this.setResource(5701, v);
  }
}

describe('client wiring', () => {
  it('Observe, a Write-Attributes, device changes and a De-register, as the client drives them', () => {
    const clock = new ManualSchedulerClock();
    const scheduler = new NotifyScheduler(clock); // one per process
    const registry = new ObservationRegistry(scheduler); // one per client
    const store = new AttributeStore(); // one per server account
    const serverDefaults: ServerDefaults = { pmin: 0, pmax: 0 }; // from /1/x/2 and /1/x/3 of that server
    const instances = new Map([[0, new Sensor(0)]]);
    const sensor = instances.get(0)!;
    sensor.value = 20;
    sensor.units = 'Cel';
    // The client subscribes once per instance and routes every change.
    sensor.onChange((inst, resourceId) => registry.changed(inst.definition.id, inst.instanceId, resourceId));

    const sent: Array<[number, string, unknown, number]> = [];
    const handlers: ObservationHandlers<ResourceContent | Map<number, ResourceContent>> = {
      read: (o) => {
        const inst = instances.get(o.path.instanceId!)!;
        return o.path.resourceId === undefined ? inst.readAll() : inst.readResource(o.path.resourceId);
      },
      attributes: attributeSource(store, () => serverDefaults),
      send: (o, value, sequence) => {
        sent.push([clock.now() / S, `/${o.path.objectId}/${o.path.instanceId}${o.path.resourceId === undefined ? '' : `/${o.path.resourceId}`}`, value instanceof Map ? Object.fromEntries(value) : value, sequence]);
        return 'sent';
      },
    };
    const server: Peer = { address: '127.0.0.1', port: 5683 };

    // GET /3303/0/5700 Observe=0, and GET /3303/0 Observe=0: read, respond with Observe = obs.sequence.
    const valuePath = { objectId: 3303, instanceId: 0, resourceId: 5700 };
    const first = sensor.readResource(5700);
    const o1 = registry.add({ peer: server, token: Uint8Array.of(1), path: valuePath, confirmable: false }, handlers, first);
    expect(o1.sequence).toBe(0);
    registry.add({ peer: server, token: Uint8Array.of(2), path: { objectId: 3303, instanceId: 0 }, confirmable: false }, handlers, sensor.readAll());

    // PUT /3303/0/5700?gt=25&pmin=2 (Write-Attributes): parse, apply, then refresh what it covers.
    store.apply(valuePath, parseWriteAttributes(['gt=25', 'pmin=2'], valuePath, Temperature.resource(5700)));
    registry.refresh(valuePath);

    clock.advanceTo(1 * S);
    sensor.value = 21; // below gt: only the instance observation hears it
    clock.advanceTo(3 * S);
    sensor.value = 26; // crosses gt
    clock.advanceTo(4 * S);
    sensor.units = 'K';
    clock.advanceTo(10 * S);
    // Notifications due at the same instant go out in heap order: compare them sorted.
    sent.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
    expect(sent).toEqual([
      [1, '/3303/0', { 5700: 21, 5701: 'Cel' }, 1],
      [3, '/3303/0', { 5700: 26, 5701: 'Cel' }, 2],
      [3, '/3303/0/5700', 26, 1],
      [4, '/3303/0', { 5700: 26, 5701: 'K' }, 3],
    ]);

    // De-register: cancel everything of that server; later changes go nowhere.
    expect(registry.cancelPeer(server)).toBe(2);
    sensor.value = 30;
    clock.advanceTo(20 * S);
    expect(sent).toHaveLength(4);
    expect(scheduler.size).toBe(0);
  });

  it('a send callback that refreshes another observation does not disturb the one being sent', () => {
    const clock = new ManualSchedulerClock();
    const scheduler = new NotifyScheduler(clock);
    const registry = new ObservationRegistry(scheduler);
    const peer: Peer = { address: '127.0.0.1', port: 1 };
    const times: number[] = [];
    const other = registry.add(
      { peer, token: Uint8Array.of(2), path: { objectId: 2 }, confirmable: false },
      { read: () => 0, attributes: () => ({ pmin: 500, pmax: 1000 }), send: () => 'sent' },
      0,
    );
    registry.add(
      { peer, token: Uint8Array.of(1), path: { objectId: 1 }, confirmable: false },
      {
        read: () => 0,
        attributes: () => ({ pmax: 10 }),
        send: () => {
          times.push(clock.now() / S);
          scheduler.refresh(other);
          return 'sent';
        },
      },
      0,
    );
    clock.advanceTo(35 * S);
    expect(times).toEqual([10, 20, 30]);
  });
});

describe('the client Clock (coap/clock.ts) as the scheduler clock', () => {
  it('arms one timer through it, fires pmax on it, and clears it when nothing is left', () => {
    const clock = new ManualClock();
    const scheduler = new NotifyScheduler(clock);
    const registry = new ObservationRegistry(scheduler);
    const peer: Peer = { address: '127.0.0.1', port: 1 };
    const times: number[] = [];
    const h: ObservationHandlers<number> = { read: () => 1, attributes: () => ({ pmax: 5 }), send: () => (times.push(clock.now() / S), 'sent') };
    for (let i = 0; i < 50; i++) registry.add({ peer, token: Uint8Array.of(i), path: { objectId: 3, instanceId: 0, resourceId: i }, confirmable: false }, h, 1);
    expect(clock.pending).toBe(1);
    clock.advance(12 * S);
    expect(times).toEqual([...Array<number>(50).fill(5), ...Array<number>(50).fill(10)]);
    expect(clock.pending).toBe(1);
    registry.cancelAll();
    expect(clock.pending).toBe(0);
  });
});
