// FETCH and iPATCH framing against an independent CoAP stack: libcoap's coap-client, from the server's address, runs Read-, Write- and Observe-Composite on the device (block-wise too).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUdpEndpoint, type CoapEndpoint } from '../../../runtime/coap/index.js';
import { ContentFormat, decodeCompositeRecords, encodeCompositePaths } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { coapClientFrom, describeLibcoap } from '../../support/libcoap.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { ConfigDef, TestConfig, TestDevice, TestServer } from '../../support/objects.js';

describeLibcoap('composite operations from coap-client (libcoap)', () => {
  let server: TestLwm2mServer;
  let endpoint: CoapEndpoint;
  let client: Lwm2mClient;
  let device: TestDevice;
  let serverPort: number;
  let deviceUri: string;
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'composite-'));
    // Our test server takes the Register, then steps aside so coap-client can speak from its address.
    server = await TestLwm2mServer.start({ coap: { ackTimeout: 200, maxRetransmit: 1 } });
    serverPort = server.address().port;
    endpoint = await createUdpEndpoint({ address: '127.0.0.1', port: 0, ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 });
    client = new Lwm2mClient({ endpointName: 'lc-dev', transport: endpoint, server: server.address(), lifetime: 3600 });
    device = new TestDevice();
    client.addInstance(new TestServer(0, { shortServerId: 1, lifetime: 3600 })).addInstance(device)
      .addObject(ConfigDef, { create: (id) => new TestConfig(id) }).addInstance(new TestConfig(0, { level: 1 }));
    const registered = client.next('registered');
    await client.start();
    await registered;
    await server.close();
    deviceUri = `coap://127.0.0.1:${endpoint.address().port}/`;
  });

  afterEach(async () => {
    // The server is gone: the De-register goes unanswered (short timeouts) and stop() still ends.
    await client.stop().catch(() => undefined);
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Read-Composite: -m fetch with a SenML JSON path list answers both values in one 2.05', async () => {
    const got = await coapClientFrom(serverPort, ['-m', 'fetch', '-t', '110', '-A', '110', '-e', '[{"n":"/3/0/0"},{"n":"/3/0/9"}]', deviceUri]);
    expect(JSON.parse(got.output)).toEqual([{ n: '/3/0/0', vs: 'ACME' }, { n: '/3/0/9', v: 87 }]);
  });

  it('Read-Composite in SenML CBOR, body from a file, answer block by block (-b 64)', async () => {
    const body = join(dir, 'paths.cbor');
    writeFileSync(body, encodeCompositePaths(ContentFormat.SENML_CBOR, [{ objectId: 3, instanceId: 0 }, { objectId: 10250 }]));
    const out = join(dir, 'answer.cbor');
    const got = await coapClientFrom(serverPort, ['-m', 'fetch', '-t', '112', '-A', '112', '-b', '64', '-f', body, '-o', out, deviceUri]);
    expect(got.code).toBe('2.xx');
    const records = decodeCompositeRecords(ContentFormat.SENML_CBOR, readFileSync(out), client.registry.lookup);
    expect(records.find((r) => r.path.resourceId === 9)?.value).toBe(87);
    expect(records.find((r) => r.path.objectId === 10250 && r.path.resourceId === 0)?.value).toBe('cfg0');
    expect(records.length).toBeGreaterThan(8);
  });

  it('Write-Composite: -m ipatch changes both resources, or neither when one is refused', async () => {
    const ok = await coapClientFrom(serverPort, ['-m', 'ipatch', '-t', '110', '-e', '[{"n":"/3/0/14","vs":"+05:00"},{"n":"/10250/0/1","v":6}]', deviceUri]);
    expect(ok.code).not.toMatch(/^[45]\./);
    expect(device.utcOffset).toBe('+05:00');
    expect((client.registry.instance(10250, 0) as TestConfig).level).toBe(6);
    const bad = await coapClientFrom(serverPort, ['-m', 'ipatch', '-t', '110', '-e', '[{"n":"/3/0/14","vs":"+06:00"},{"n":"/10250/0/1","v":60}]', deviceUri]);
    expect(bad.code).toBe('4.00');
    expect(device.utcOffset).toBe('+05:00');
    expect((client.registry.instance(10250, 0) as TestConfig).level).toBe(6);
  });

  it('Observe-Composite: -m fetch -s keeps the observation and prints the notification of a change', async () => {
    const watching = coapClientFrom(serverPort, ['-m', 'fetch', '-s', '3', '-t', '110', '-A', '110', '-e', '[{"n":"/3/0/9"},{"n":"/3/0/0"}]', deviceUri]);
    for (let i = 0; i < 100 && client.observations.composite.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(client.observations.composite.size).toBe(1);
    device.batteryLevel = 42;
    const got = await watching;
    // coap-client prints each payload as it comes, without a separator.
    const answers = (got.output.match(/\[[^[\]]*\]/g) ?? []).map((l) => JSON.parse(l) as unknown);
    expect(answers[0]).toEqual([{ n: '/3/0/9', v: 87 }, { n: '/3/0/0', vs: 'ACME' }]);
    expect(answers).toContainEqual([{ n: '/3/0/9', v: 42 }, { n: '/3/0/0', vs: 'ACME' }]);
  });
});
