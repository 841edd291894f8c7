// The example device with coap-shepherd, an independent LwM2M 1.0 server: register, read, write, execute, discover, attributes, observe.
import { ContentFormat } from '../../../runtime/codec/index.js';
import { startSimpleDevice, type SimpleDevice } from '../../../examples/simple-device/index.js';
import { startShepherd, type RunningShepherd, type Shepherd } from '../../support/shepherd.js';

let running: RunningShepherd;
let shepherd: Shepherd;
let dev: SimpleDevice | undefined;

beforeAll(async () => {
  running = await startShepherd({ stripLinkAttributes: true });
  shepherd = running.shepherd;
});

afterAll(async () => {
  await running.stop();
});

afterEach(async () => {
  await dev?.stop();
  dev = undefined;
  shepherd.removeAllListeners('ind');
});

it('registers with coap-shepherd and serves its requests', async () => {
  // devIncoming: the shepherd has registered the client and read every object over TLV
  const incoming = running.incoming('shep-sim');
  const lines: string[] = [];
  dev = await startSimpleDevice({
    server: `coap://127.0.0.1:${shepherd._net.port}`, endpoint: 'shep-sim', lifetime: 600,
    lwm2mVersion: '1.0', preferredFormat: ContentFormat.TLV, log: (l) => lines.push(l),
  });
  expect(dev.client.state).toBe('registered');
  expect(lines.some((l) => l.includes('registered'))).toBe(true);
  await incoming;
  const cnode = shepherd.find('shep-sim')!;
  expect(cnode).toBeDefined();

  expect(await cnode.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'lwm2m-gen' });
  const inst = await cnode.readReq('/3/0');
  expect(inst.status).toBe('2.05');
  expect(inst.data).toMatchObject({ manuf: 'lwm2m-gen', model: 'simple-device', serial: 'SIM-shep-sim', firmware: '1.0.0' });

  expect((await cnode.writeReq('/3/0/14', 'UTC+04:00')).status).toBe('2.04');
  expect(dev.device.utcOffset).toBe('UTC+04:00');
  expect((await cnode.writeReq('/3/0/14', 'four')).status).toBe('4.00');
  expect((await cnode.writeReq('/3/0/9', 50)).status).toBe('4.05');
  expect((await cnode.writeReq('/1/0/1', 900)).status).toBe('2.04');
  expect(dev.client.lifetime()).toBe(900);

  expect((await cnode.executeReq('/3/0/12', [])).status).toBe('2.04');
  expect((await cnode.executeReq('/3/0/0', [])).status).toBe('4.05');

  expect((await cnode.writeAttrsReq('/3/0/9', { pmin: 10, pmax: 60 })).status).toBe('2.04');
  const disc = await cnode.discoverReq('/3/0/9');
  expect(disc.status).toBe('2.05');
  expect(JSON.stringify(disc.data)).toMatch(/pmin.*10.*pmax.*60/);

  const obs = await cnode.observeReq('/3/0/13');
  expect(obs.status).toBe('2.05');
  expect((await cnode.cancelObserveReq('/3/0/13')).status).toBe('2.05');

  const d = dev;
  dev = undefined;
  const deregistered = d.client.next('deregistered');
  await d.stop();
  await deregistered;
});
