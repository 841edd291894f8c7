// Issue 11's "done when", against independent peers: the device registers with libcoap's coap-rd, then libcoap's coap-client, from the server's own address, asks what a conformant device refuses.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat, encodeRecords } from '../../../runtime/codec/index.js';
import { connectClient, type ConnectedClient } from '../../../runtime/client/index.js';
import { withConfigBehaviour, withDeviceBehaviour } from '../../../runtime/device/index.js';
import { Config, ConfigBase } from '../../../generated/config.js';
import { DeviceBase } from '../../../generated/device.js';
import { describeLibcoap, startLibcoap, type LibcoapProcess } from '../../support/libcoap.js';

class MyDevice extends withDeviceBehaviour(DeviceBase) {
  reboot(): void {}
}
class MyConfig extends withConfigBehaviour(ConfigBase) {
  applySetting(): void {}
}

interface Answer {
  /** The response code coap-client reported ("4.05"), or "2.xx" when it printed only a payload. */
  readonly code: string;
  readonly output: string;
}

/**
 * One request with coap-client, bound to `fromPort` (the server's port, so the device takes it for its server).
 * coap-client prints a payload on success and "x.yy Reason" for an error response.
 */
function coapClient(fromPort: number, args: string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const proc = spawn('coap-client-notls', ['-a', '127.0.0.1', '-p', String(fromPort), '-B', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    proc.once('error', reject);
    proc.once('exit', () => {
      const code = /\b([245]\.\d\d)\b/.exec(output)?.[1] ?? '2.xx';
      resolve({ code, output: output.trim() });
    });
  });
}

describeLibcoap('the contract against coap-rd and coap-client (libcoap)', () => {
  let rd: LibcoapProcess | undefined;
  let connected: ConnectedClient | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'contract-'));
  });

  afterEach(async () => {
    (connected?.client.registry.instance(3, 0) as MyDevice | undefined)?.behaviour.dispose();
    await connected?.close();
    connected = undefined;
    rd?.proc.kill('SIGKILL');
    rd = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Registers with coap-rd, then stops it so coap-client can take its port. */
  async function registeredDevice(): Promise<{ serverPort: number; device: string }> {
    // The GnuTLS build, as the launcher waits for its secure listener on port + 1 too; the device uses plain UDP.
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', 'unused-key']);
    const serverPort = rd.port;
    connected = await connectClient(`coap://127.0.0.1:${serverPort}`, {
      endpointName: 'contract-dev', lifetime: 3600, preferredFormat: ContentFormat.TLV, closeTimeoutMs: 200,
      coap: { ackTimeout: 200, maxRetransmit: 1 },
    });
    connected.client
      .addInstance(new MyDevice(0, { manufacturer: 'ACME', supportedBindingAndModes: 'U' }))
      .addObject(Config, { create: (id) => new MyConfig(id, { name: '', value: '' }) });
    const registered = connected.client.next('registered');
    await connected.client.start();
    await registered;
    const exited = new Promise((r) => rd!.proc.once('exit', r));
    rd.proc.kill('SIGTERM');
    await exited;
    rd = undefined;
    return { serverPort, device: `coap://127.0.0.1:${connected.endpoint.address().port}` };
  }

  it('Delete /3/0 is 4.05 and /3/0 still reads', async () => {
    const { serverPort, device } = await registeredDevice();
    expect((await coapClient(serverPort, ['-m', 'delete', `${device}/3/0`])).code).toBe('4.05');
    const read = await coapClient(serverPort, ['-m', 'get', `${device}/3/0/0`]);
    expect(read.output).toContain('ACME');
  });

  it('Write /1/0/1 -5 is 4.00 and /1/0/1 is unchanged', async () => {
    const { serverPort, device } = await registeredDevice();
    expect((await coapClient(serverPort, ['-m', 'put', '-t', '0', '-e', '-5', `${device}/1/0/1`])).code).toBe('4.00');
    const read = await coapClient(serverPort, ['-m', 'get', `${device}/1/0/1`]);
    expect(read.output).toBe('3600');
  });

  it('a Create missing a mandatory resource is 4.00; with every one it is 2.01', async () => {
    const { serverPort, device } = await registeredDevice();
    const lookup = connected!.client.registry.lookup;
    const only = join(dir, 'name-only.tlv');
    writeFileSync(only, encodeRecords(ContentFormat.TLV, { objectId: Config.id }, [
      { path: { objectId: Config.id, instanceId: 0, resourceId: 0 }, value: 'logLevel' },
    ], lookup));
    expect((await coapClient(serverPort, ['-m', 'post', '-t', '11542', '-f', only, `${device}/${Config.id}`])).code).toBe('4.00');
    expect(connected!.client.registry.instances(Config.id)).toHaveLength(0);
    const both = join(dir, 'both.tlv');
    writeFileSync(both, encodeRecords(ContentFormat.TLV, { objectId: Config.id }, [
      { path: { objectId: Config.id, instanceId: 0, resourceId: 0 }, value: 'logLevel' },
      { path: { objectId: Config.id, instanceId: 0, resourceId: 1 }, value: 'info' },
    ], lookup));
    expect((await coapClient(serverPort, ['-m', 'post', '-t', '11542', '-f', both, `${device}/${Config.id}`])).code).not.toMatch(/^[45]\./);
    expect(connected!.client.registry.instances(Config.id)).toHaveLength(1);
  });
});
