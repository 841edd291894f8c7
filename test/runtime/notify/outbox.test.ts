// Notification Storing end to end over UDP on 127.0.0.1: what the client notifies while its server is unreachable or it is disabled arrives later, in order, with its time.
import { ContentFormat } from '../../../runtime/codec/index.js';
import { defineObject, type ResourceModel } from '../../../runtime/index.js';
import { ObjectInstance } from '../../../runtime/object/instance.js';
import type { NotificationsDroppedEvent } from '../../../runtime/client/events.js';
import { MemoryStateStore } from '../../../runtime/store/memory-store.js';
import { PersistentState } from '../../../runtime/store/state.js';
import { createUdpEndpoint } from '../../../runtime/coap/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import {
  INITIAL_OFFLINE_BITS, Outbox, StoredQueue, offlineBits, type DeliveryResult, type StoredItem, type Submission,
} from '../../../runtime/notify/index.js';
import { parseLinks } from '../../../runtime/codec/index.js';
import type { Notification, Observation } from 'lwm2m-gen/testing';
import { TestDevice, TestServer } from '../../support/objects.js';
import { createUdpRig, fast, type UdpRig } from '../../support/registered-client.js';

const text = new TextDecoder();

/** An On/Off switch with one readable Boolean, for edge. */
const SwitchDef = defineObject({
  id: 3342, name: 'On/Off switch', urn: 'urn:oma:lwm2m:ext:3342', objectVersion: '1.0', lwm2mVersion: '1.0',
  multiple: true, mandatory: false,
  resources: [{ id: 5500, name: 'Digital Input State', operations: 'R', type: 'Boolean', multiple: false, mandatory: true } satisfies ResourceModel],
});
class Switch extends ObjectInstance {
  constructor() {
    super(SwitchDef, 0, { 5500: { property: 'state' } });
    this.setResource(5500, false);
  }
}

/** The test Device, with UTC Offset changed by the app (a second observed resource). */
class Device extends TestDevice {
  set offset(v: string) {
    this.setResource(14, v);
  }
}

interface SenmlRecord { readonly bt?: number; readonly n?: string; readonly v?: number; readonly vs?: string }

function senml(n: Notification): SenmlRecord[] {
  expect(n.contentFormat).toBe(ContentFormat.SENML_JSON);
  return JSON.parse(text.decode(n.payload)) as SenmlRecord[];
}

/** Real time passes (a change per turn of the scheduler; distinct timestamps). */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(10);
  }
}

let rig: UdpRig;
/** Set while a rig of the socket tests is up (the Outbox tests below make none). */
let rigOpen = false;
let device: Device;
const dropped: NotificationsDroppedEvent[] = [];

async function setUp(storing: boolean, client: Parameters<typeof createUdpRig>[0]['client'] = {}, disableTimeout = 86400): Promise<void> {
  device = new Device();
  dropped.length = 0;
  rig = await createUdpRig({
    endpointName: 'store-dev',
    client: { preferredFormat: ContentFormat.SENML_JSON, ...client },
    objects: (c) => {
      c.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300, notificationStoring: storing, disableTimeout }))
        .addInstance(device).addObject(SwitchDef).addInstance(new Switch());
      c.on('notifications-dropped', (e) => dropped.push(e));
    },
  });
  rigOpen = true;
  await rig.register();
}

/** The server stops answering, and the client finds out (its Update goes unanswered). */
async function goUnreachable(): Promise<void> {
  rig.server.down = true;
  const failed = rig.client.next('registration-failed');
  void rig.client.update();
  const f = await failed;
  expect([f.operation, f.code]).toEqual(['update', undefined]);
}

/** Changes the battery level once per value, a little apart, while the client holds notifications. */
async function changeBattery(values: readonly number[]): Promise<void> {
  for (const v of values) {
    device.batteryLevel = v;
    await pause(30);
  }
}

/** The server answers again; the client's next Update (its retry) succeeds and what it held is delivered. */
async function comeBack(): Promise<void> {
  const updated = rig.client.next('updated');
  rig.server.down = false;
  await updated;
}

afterEach(async () => {
  if (!rigOpen) return;
  rigOpen = false;
  await rig.close();
});

describe('Notification Storing on (/1/x/6 = true)', () => {
  it('With Notification Storing on, notifications made while the server was unreachable arrive in order with their timestamps once it is back; Discover shows edge, con and hqmax after they are written', async () => {
    await setUp(true);
    const obs = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    await goUnreachable();
    const before = Date.now();
    await changeBattery([50, 40, 30]);
    const after = Date.now();
    expect(obs.notifications).toHaveLength(0);
    expect(rig.client.outbox.queue.size).toBe(3);

    await comeBack();
    await until('three notifications', () => obs.notifications.length === 3);
    const packs = obs.notifications.map(senml);
    expect(packs.map((p) => p[0]!.v)).toEqual([50, 40, 30]);
    // Sequence numbers rise, so the server takes each as fresher than the last (RFC 7641 §4.4).
    const seqs = obs.notifications.map((n) => n.observe!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(3);
    // The times they were made, not the time they arrived: within the outage, in order, apart.
    const times = packs.map((p) => p[0]!.bt!);
    for (const t of times) {
      expect(t * 1000).toBeGreaterThanOrEqual(before - 1);
      expect(t * 1000).toBeLessThanOrEqual(after + 1);
    }
    expect(times[0]!).toBeLessThan(times[1]!);
    expect(times[1]!).toBeLessThan(times[2]!);
    expect(rig.client.outbox.queue.size).toBe(0);

    // Back online, notifications go out at once again, without a time.
    device.batteryLevel = 20;
    await until('a live notification', () => obs.notifications.length === 4);
    expect(senml(obs.notifications[3]!)).toEqual([{ bn: '/3/0/9', v: 20 }]);

    // The second half: the 1.2 attributes written, then shown by Discover.
    expect((await rig.server.writeAttributes('store-dev', '/3342/0/5500', ['edge=1', 'con=1', 'hqmax=5'])).code).toBe('2.04');
    const discovered = await rig.server.discover('store-dev', '/3342/0/5500');
    expect(discovered.code).toBe('2.05');
    const [link] = parseLinks(text.decode(discovered.payload));
    expect(link!.attributes).toEqual(expect.arrayContaining([['edge', 1], ['con', 1], ['hqmax', 5]]));
  });

  it('holds every notification of every observation, interleaved as they were made', async () => {
    await setUp(true);
    const battery = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    const offset = await rig.server.observe('store-dev', '/3/0/14', ContentFormat.SENML_JSON);
    await goUnreachable();
    device.batteryLevel = 50;
    await pause(30);
    device.offset = '+02:00';
    await pause(30);
    device.batteryLevel = 40;
    await pause(30);
    const order = rig.client.outbox.queue.items().map((i) => i.key);
    expect(order).toEqual([battery.token, offset.token, battery.token].map((t) => Buffer.from(t).toString('hex')));
    await comeBack();
    await until('all three', () => battery.notifications.length === 2 && offset.notifications.length === 1);
    expect(battery.notifications.map((n) => senml(n)[0]!.v)).toEqual([50, 40]);
    expect(senml(offset.notifications[0]!)[0]!.vs).toBe('+02:00');
  });

  it('a CON notification that goes unanswered is held, not lost, and the client finds out by an Update', async () => {
    await setUp(true, { confirmableNotifications: true });
    const obs = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    rig.server.down = true;
    const failed = rig.client.next('registration-failed');
    device.batteryLevel = 55;
    // The CON times out, the client holds it and checks its registration; that Update goes unanswered too.
    await failed;
    expect(rig.client.outbox.queue.size).toBe(1);
    expect(rig.client.observations.observations.size).toBe(1);
    await comeBack();
    await until('the held notification', () => obs.notifications.length === 1);
    expect(senml(obs.notifications[0]!)[0]!.v).toBe(55);
    expect(obs.notifications[0]!.confirmable).toBe(true);
  });

  it('a full store drops the oldest and says so in an event', async () => {
    await setUp(true, { notificationStore: { maxCount: 2 } });
    const obs = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    await goUnreachable();
    await changeBattery([50, 40, 30]);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ reason: 'full', count: 1, items: [{ kind: 'notify', key: Buffer.from(obs.token).toString('hex') }] });
    await comeBack();
    await until('two notifications', () => obs.notifications.length === 2);
    expect(obs.notifications.map((n) => senml(n)[0]!.v)).toEqual([40, 30]);
  });

  it('hqmax bounds what is held of one observation, written or given in the Observe query', async () => {
    await setUp(true);
    expect((await rig.server.writeAttributes('store-dev', '/3/0/9', ['hqmax=2'])).code).toBe('2.04');
    const battery = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    // LwM2M 1.2: attributes in the Observe request's query are this observation's own.
    const offset = await rig.server.observeRequest('store-dev', '/3/0/14', { method: 'GET', observe: 0, accept: ContentFormat.SENML_JSON, query: ['hqmax=1'] });
    expect(offset.response.code).toBe('2.05');
    // They are that observation's own, and a store keeps them with it.
    const kept = rig.client.session().observations.map((o) => o.attributes);
    expect(kept).toEqual(expect.arrayContaining([{ hqmax: 1 }, undefined]));
    await goUnreachable();
    for (const [v, o] of [[50, '+02:00'], [40, '+03:00'], [30, '+04:00']] as const) {
      device.batteryLevel = v;
      device.offset = o;
      await pause(30);
    }
    expect(dropped.map((d) => d.reason)).toEqual(['hqmax', 'hqmax', 'hqmax']);
    await comeBack();
    await until('the kept ones', () => battery.notifications.length === 2 && offset.notifications.length === 1);
    expect(battery.notifications.map((n) => senml(n)[0]!.v)).toEqual([40, 30]);
    expect(senml(offset.notifications[0]!)[0]!.vs).toBe('+04:00');
  });

  it('an Observe whose query misuses a 1.2 attribute is refused with 4.00 and observes nothing', async () => {
    await setUp(true);
    for (const query of [['edge=1'], ['hqmax=-1'], ['con=2'], ['hqmax']]) {
      const res = await rig.server.request('store-dev', '/3/0/9', { method: 'GET', observe: 0, query });
      expect([query, res.code]).toEqual([query, '4.00']);
    }
    const ok = await rig.server.request('store-dev', '/3342/0/5500', { method: 'GET', observe: 0, query: ['edge=1'] });
    expect(ok.code).toBe('2.05');
    expect(rig.client.observations.observations.size).toBe(1);
  });

  it('keeps the observations over a Disable (/1/x/4) and delivers what they notified after the Disable Timeout', async () => {
    await setUp(true, {}, 1);
    const obs = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    const deregistered = rig.client.next('deregistered');
    expect((await rig.server.execute('store-dev', '/1/0/4')).code).toBe('2.04');
    expect((await deregistered).reason).toBe('disable');
    expect(rig.client.outbox.reasons()).toContain('disabled');
    await changeBattery([50, 40]);
    expect(obs.notifications).toHaveLength(0);
    // After the Disable Timeout (1 s) the client registers again, then delivers.
    await rig.client.next('registered');
    await until('two notifications', () => obs.notifications.length === 2);
    expect(obs.notifications.map((n) => senml(n)[0]!.v)).toEqual([50, 40]);
    expect(rig.client.observations.observations.size).toBe(1);
  });
});

describe('Notification Storing off (/1/x/6 = false)', () => {
  it('sends only the latest value of each observation once the server is back', async () => {
    await setUp(false);
    const battery = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    const offset = await rig.server.observe('store-dev', '/3/0/14', ContentFormat.SENML_JSON);
    await goUnreachable();
    await changeBattery([50, 40, 30]);
    device.offset = '+05:00';
    await pause(30);
    expect(rig.client.outbox.queue.size).toBe(2);
    await comeBack();
    await until('one of each', () => battery.notifications.length === 1 && offset.notifications.length === 1);
    await pause(100);
    expect(battery.notifications.map((n) => senml(n)[0]!.v)).toEqual([30]);
    expect(offset.notifications.map((n) => senml(n)[0]!.vs)).toEqual(['+05:00']);
    expect(dropped).toEqual([]);
  });

  it('a Disable ends the observations: nothing is delivered for them afterwards', async () => {
    await setUp(false, {}, 1);
    const obs = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    expect((await rig.server.execute('store-dev', '/1/0/4')).code).toBe('2.04');
    await rig.client.next('deregistered');
    expect(rig.client.observations.observations.size).toBe(0);
    device.batteryLevel = 10;
    await rig.client.next('registered');
    await pause(200);
    expect(obs.notifications).toHaveLength(0);
  });
});

describe('a persistent store', () => {
  it('carries held notifications across a restart: the restarted client delivers them after resuming its registration', async () => {
    const store = new MemoryStateStore();
    const state = (await PersistentState.open(store)).state;
    const section = state.section<readonly StoredItem[]>('notifications/1');
    const persist = { load: () => section.load(), save: (items: readonly StoredItem[]) => section.save(items) };
    await setUp(true, { notificationStore: { persist } });
    const obs: Observation = await rig.server.observe('store-dev', '/3/0/9', ContentFormat.SENML_JSON);
    await goUnreachable();
    await changeBattery([50, 40]);
    await state.flush();
    // On disk (the store's document), not only in memory: a new PersistentState reads them back.
    const reread = (await PersistentState.open(store)).state.section<readonly StoredItem[]>('notifications/1');
    expect(reread.load()).toHaveLength(2);
    const session = rig.client.session();
    const port = rig.endpoint.address().port;
    await rig.client.stop({ deregister: false });
    await rig.endpoint.close();
    rig.server.down = false;

    const endpoint = await createUdpEndpoint({ address: '127.0.0.1', port, ...fast });
    const restarted = new Lwm2mClient({
      endpointName: 'store-dev', transport: endpoint, server: rig.server.address(), preferredFormat: ContentFormat.SENML_JSON,
      resume: session, notificationStore: { persist: { load: () => reread.load(), save: (items) => reread.save(items) } },
    });
    restarted.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 300, notificationStoring: true })).addInstance(new TestDevice());
    expect(restarted.outbox.queue.size).toBe(2);
    const updated = restarted.next('updated');
    await restarted.start();
    await updated;
    try {
      await until('the two held notifications', () => obs.notifications.length === 2);
      expect(obs.notifications.map((n) => senml(n)[0]!.v)).toEqual([50, 40]);
      await until('the store emptied', () => restarted.outbox.queue.size === 0);
      expect(reread.load()).toEqual([]);
    } finally {
      await restarted.stop();
      await endpoint.close();
    }
  });
});

describe('Outbox on its own (the API other kinds of message use, e.g. a Send)', () => {
  function outbox(storing = true): { box: Outbox; delivered: string[]; results: DeliveryResult[]; unreachable: number[] } {
    const delivered: string[] = [];
    const results: DeliveryResult[] = [];
    const unreachable: number[] = [];
    const box = new Outbox({ queue: new StoredQueue(), storing: () => storing, now: () => 1_000_000, onUnreachable: () => unreachable.push(1) });
    box.deliverer('send', async (item) => {
      delivered.push(text.decode(item.payload));
      return results.shift() ?? 'delivered';
    });
    return { box, delivered, results, unreachable };
  }
  const message = (body: string, key = '/dp'): Submission => ({ kind: 'send', key, payload: new TextEncoder().encode(body) });

  it('starts with the reasons an owner kept before making it (offlineBits), unreachable when not told', () => {
    let bits = INITIAL_OFFLINE_BITS;
    bits = offlineBits(bits, 'unreachable', false);
    expect(new Outbox({ queue: new StoredQueue(), storing: () => true, reasons: bits }).open).toBe(true);
    bits = offlineBits(offlineBits(bits, 'disabled', true), 'asleep', true);
    expect(new Outbox({ queue: new StoredQueue(), storing: () => true, reasons: bits }).reasons()).toEqual(['disabled', 'asleep']);
    expect(new Outbox({ queue: new StoredQueue(), storing: () => true }).reasons()).toEqual(['unreachable']);
  });

  it('holds while any offline reason is set and delivers in order once the last is cleared, before anything new', async () => {
    const { box, delivered } = outbox();
    const live: string[] = [];
    const send = (body: string) => box.submit(message(body), async () => { live.push(body); return 'acked'; });
    expect(box.reasons()).toEqual(['unreachable']);
    await send('a');
    box.offline('asleep', true);
    box.offline('unreachable', false);
    await send('b');
    expect(box.queue.items().map((i) => [text.decode(i.payload), i.time])).toEqual([['a', 1_000_000], ['b', 1_000_000]]);
    box.offline('asleep', false);
    await box.flush();
    expect(delivered).toEqual(['a', 'b']);
    expect(box.open).toBe(true);
    await send('c');
    expect(live).toEqual(['c']);
  });

  it('with storing off keeps the latest per key; a failed delivery stops and keeps the item; a rejected one is dropped', async () => {
    const { box, delivered, results, unreachable } = outbox(false);
    for (const b of ['a1', 'a2']) await box.submit(message(b, 'a'), async () => 'acked');
    await box.submit(message('b1', 'b'), async () => 'acked');
    expect(box.queue.items().map((i) => text.decode(i.payload))).toEqual(['a2', 'b1']);
    results.push('failed');
    box.offline('unreachable', false);
    await box.flush();
    expect([delivered, box.queue.size, box.reasons(), unreachable.length]).toEqual([['a2'], 2, ['unreachable'], 1]);
    results.push('rejected');
    box.offline('unreachable', false);
    await box.flush();
    expect(delivered).toEqual(['a2', 'a2', 'b1']);
    expect(box.queue.size).toBe(0);
  });

  it('a live message that goes unanswered is held when storing is on, and the outbox goes offline', async () => {
    const { box, unreachable } = outbox(true);
    box.offline('unreachable', false);
    expect(await box.submit(message('x'), async () => 'timeout')).toBe('sent');
    expect([box.queue.size, box.online, unreachable.length]).toEqual([1, false, 1]);
    const off = outbox(false);
    off.box.offline('unreachable', false);
    expect(await off.box.submit(message('y'), async () => 'timeout')).toBe('timeout');
    expect(off.box.queue.size).toBe(0);
  });
});
