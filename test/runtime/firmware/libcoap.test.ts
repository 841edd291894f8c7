// Pull from libcoap's coap-server (an independent Block2 server): coap:// and coaps:// (DTLS PSK), package uploaded with coap-client -b 64.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FirmwareResult as Res, FirmwareState as St } from '../../../runtime/firmware/index.js';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../../support/libcoap.js';
import { firmwareRig, makePackage, sha256 } from './fixtures.js';

const run = promisify(execFile);
const PSK_KEY = 'libcoap-fw-key-1';
const write = (fw: { writeResources(v: Map<number, string>, m: 'replace'): Promise<void> }, uri: string) =>
  fw.writeResources(new Map([[1, uri]]), 'replace');

describeLibcoap('firmware pull from coap-server-gnutls', () => {
  let server: LibcoapProcess | undefined;
  let dir = '';
  const pkg = makePackage(9000, 3);
  beforeAll(async () => {
    server = await startLibcoap('coap-server-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', PSK_KEY, '-h', 'hint']);
    dir = await mkdtemp(join(tmpdir(), 'fw-libcoap-'));
    await writeFile(join(dir, 'fw.bin'), pkg);
    // libcoap's example_data resource keeps what is PUT to it and serves it block-wise.
    await run('coap-client-notls', ['-m', 'put', '-b', '64', '-B', '10', '-f', join(dir, 'fw.bin'), `coap://127.0.0.1:${server.port}/example_data`]);
  });
  afterAll(async () => {
    await stopLibcoap(server?.proc);
    await rm(dir, { recursive: true, force: true });
  });

  test('coap:// with 256-byte blocks', async () => {
    const r = firmwareRig({ digest: sha256(pkg), download: { retries: 1, retryDelayMs: 0, coapBlockSize: 256, coap: { ackTimeout: 200, maxRetransmit: 2 } } });
    await write(r.fw, `coap://127.0.0.1:${server!.port}/example_data`);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
    expect(r.storage.bytes()).toEqual(pkg);
  });

  test('coaps:// with a pre-shared key', async () => {
    const r = firmwareRig({
      digest: sha256(pkg),
      protocols: ['coap', 'coaps'],
      download: { retries: 1, retryDelayMs: 0, dtls: { pskIdentity: 'fw-dev', pskKey: Buffer.from(PSK_KEY), timeoutMs: 3000 }, coap: { ackTimeout: 200, maxRetransmit: 2 } },
    });
    await write(r.fw, `coaps://127.0.0.1:${server!.port + 1}/example_data`);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Downloaded, Res.Initial]);
    expect(r.storage.bytes()).toEqual(pkg);
    expect([...(r.fw.readResource(8) as Map<number, number>).values()]).toEqual([0, 1]);
  });

  test('coaps:// not offered is Update Result 9; offered without a PSK is refused at attach', async () => {
    const r = firmwareRig();
    await write(r.fw, `coaps://127.0.0.1:${server!.port + 1}/example_data`);
    await r.fw.updater.settled();
    expect([r.fw.updater.state, r.fw.updater.result]).toEqual([St.Idle, Res.UnsupportedProtocol]);
    expect(() => firmwareRig({ protocols: ['coaps'] })).toThrow(TypeError);
  });
});
