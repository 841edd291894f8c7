// End to end over coap+tcp:// on 127.0.0.1: a server pushes a package larger than the device's maxBodySize; it is streamed to storage in BERT blocks, as over UDP.
import * as net from 'node:net';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { Lwm2mClient } from '../../../runtime/client/index.js';
import { connectCoapEndpoint } from '../../../runtime/coap/stream-connect.js';
import { StreamCoapEndpoint } from '../../../runtime/coap/tcp.js';
import { FirmwareState as St } from '../../../runtime/firmware/index.js';
import { TestDevice, TestServer } from '../../support/objects.js';
import { firmwareRig, makePackage, sha256 } from './fixtures.js';

const text = new TextDecoder();

test('push over coap+tcp://: a Write of /5/0/0 goes block by block (BERT) to storage; State Downloaded', async () => {
  // The LwM2M server's side of the connection: answers Register, then pushes the package.
  const listener = net.createServer();
  let serverSide!: StreamCoapEndpoint;
  const accepted = new Promise<void>((resolve) => {
    listener.on('connection', (s: net.Socket) => {
      serverSide = new StreamCoapEndpoint(s);
      serverSide.serve((req) => (req.method === 'POST' ? { code: '2.01', locationPath: ['rd', '1'] } : { code: '2.02' }));
      resolve();
    });
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as net.AddressInfo).port;
  // maxBodySize far below the package: only streaming lets the push through.
  const transport = await connectCoapEndpoint(`coap+tcp://127.0.0.1:${port}`, { maxBodySize: 4096 });
  const client = new Lwm2mClient({ endpointName: 'fw-tcp', transport, server: transport.remote() });
  const pkg = makePackage(200_000);
  const r = firmwareRig({ digest: sha256(pkg), maxPackageSize: 1 << 20 });
  client.addInstance(new TestServer(0, { shortServerId: 7, lifetime: 120 })).addInstance(new TestDevice()).addInstance(r.fw);
  client.streamWrites(5, 0, (_inst, s) => r.fw.updater.openBlock1(s));
  try {
    const registered = client.next('registered');
    await client.start();
    await registered;
    await accepted;
    expect(transport.bert).toBe(true);
    const w = await serverSide.request(serverSide.remote(), { method: 'PUT', path: ['5', '0', '0'], contentFormat: ContentFormat.OPAQUE, payload: pkg });
    expect(w.code).toBe('2.04');
    expect(r.storage.bytes()).toEqual(pkg);
    // BERT blocks of several KiB: far fewer writes than 1024-byte blocks would take.
    expect(r.storage.calls.write).toBeGreaterThan(1);
    expect(r.storage.calls.write).toBeLessThan(pkg.length / 1024 / 4);
    const state = await serverSide.request(serverSide.remote(), { method: 'GET', path: ['5', '0', '3'], accept: ContentFormat.TEXT });
    expect(text.decode(state.payload)).toBe(String(St.Downloaded));
  } finally {
    await client.stop();
    await transport.close();
    await serverSide.close();
    await new Promise<void>((r) => listener.close(() => r()));
  }
});
