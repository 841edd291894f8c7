// `lwm2m-gen server`'s command line: usage errors (exit 2), bad DDFs (exit 1, file and line), PSK parsing, UDP and DTLS side by side.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { parsePsk, serverMain, startServer, type RunningServer } from '../../server/cli.js';
import { loadModels } from '../../server/models.js';
import { main } from '../../generator/cli.js';
import { connectClient } from '../../runtime/index.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

test('--psk takes IDENTITY:HEXKEY (the identity may hold colons); a bad key is named by identity, never shown', () => {
  expect(parsePsk('dev:1:00ff')).toEqual({ identity: 'dev:1', key: Uint8Array.from([0, 255]) });
  expect(() => parsePsk('dev1:abc')).toThrow('--psk for identity "dev1": the key must be an even number of hex digits');
  expect(() => parsePsk('nocolon')).toThrow('--psk takes IDENTITY:HEXKEY');
  try {
    parsePsk('dev1:secretxyz');
  } catch (e) {
    expect((e as Error).message).not.toContain('secretxyz');
  }
});

test.each([
  [['--port', '70000'], /--port must be a port number/],
  [['--psk', 'dev1:zz'], /the key must be an even number/],
  [['--colour', 'red'], /Unknown argument/],
])('usage error %j exits 2 with the reason and the usage', async (argv, message) => {
  const c = io();
  expect(await main(['server', ...argv], c.io)).toBe(2);
  expect(c.err[0]).toMatch(message);
  expect(c.err[1]).toMatch(/^usage: lwm2m-gen server/);
});

test('a DDF with an error exits 1 naming the file and line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwm2m-server-ddf-'));
  const file = join(dir, 'bad.xml');
  writeFileSync(file, '<?xml version="1.0"?>\n<LWM2M><Object ObjectType="MODefinition"><Name>Bad</Name>\n<ObjectID>abc</ObjectID></Object></LWM2M>\n');
  const c = io();
  expect(await serverMain(['--objects', file, '--port', '0', '--ui-port', '0'], c.io)).toBe(1);
  expect(c.err.join('\n')).toMatch(new RegExp(`${file.replace(/[/.]/g, '\\$&')}:\\d+:\\d+: error`));
});

test('--objects names custom objects too: a folder of DDFs adds to the project registry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwm2m-server-objects-'));
  writeFileSync(join(dir, 'temp.xml'), `<?xml version="1.0"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Bench Thermometer</Name><Description1>A test object.</Description1>
<ObjectID>30001</ObjectID><ObjectURN>urn:oma:lwm2m:x:30001</ObjectURN><LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>1.0</ObjectVersion>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
<Item ID="0"><Name>Celsius</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
<Type>Float</Type><RangeEnumeration>-40..125</RangeEnumeration><Units>Cel</Units><Description>Temperature.</Description></Item>
</Resources></Object></LWM2M>`);
  const models = loadModels([dir]);
  expect(models.get(30001)?.resource(0)).toMatchObject({ name: 'Celsius', units: 'Cel' });
  expect(models.get(3)?.name).toBe('Device');
});

test('prints where it listens (UDP and, with --psk, DTLS) and the UI, and stops cleanly', async () => {
  const c = io();
  let stop!: () => void;
  const stopped = new Promise<void>((r) => { stop = r; });
  const done = serverMain(['--port', '0', '--dtls-port', '0', '--ui-port', '0', '--psk', 'dev1:00112233'], c.io, stopped);
  for (let i = 0; i < 100 && c.out.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(c.out[0]).toMatch(/^lwm2m-gen server: LwM2M on coap:\/\/127\.0\.0\.1:\d+ and coaps:\/\/127\.0\.0\.1:\d+, 5 objects named; UI at http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(c.out.join('\n')).not.toContain('00112233');
  stop();
  expect(await done).toBe(0);
});

describe('a DTLS-PSK device', () => {
  let running: RunningServer;
  let device: SimpleDevice | undefined;
  afterEach(async () => {
    await device?.stop();
    await running?.close();
  });

  test('registers over coaps:// with a --psk key and is listed and driven like a UDP one', async () => {
    const key = Uint8Array.from(Buffer.from('a1b2c3d4e5f60718', 'hex'));
    running = await startServer({ host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [{ identity: 'psk-dev', key }] }, loadModels([]));
    const dtls = running.hub.servers.find((s) => s.transport === 'dtls')!.server;
    const { address, port } = dtls.address();
    device = await startSimpleDevice({ server: `coaps://${address}:${port}`, endpoint: 'psk-dev', pskIdentity: 'psk-dev', pskKey: key, log: () => {} });
    expect(running.hub.clients()).toEqual([expect.objectContaining({ endpoint: 'psk-dev', transport: 'dtls' })]);
    const r = await running.hub.perform('psk-dev', { op: 'read', path: '/3/0/0' });
    expect(r).toMatchObject({ code: '2.05', values: [{ path: '/3/0/0', text: 'lwm2m-gen' }] });
  });

  test('a handshake with another key is refused and printed with the reason, never a key', async () => {
    const key = Uint8Array.from(Buffer.from('a1b2c3d4e5f60718', 'hex'));
    const c = io();
    running = await startServer({ host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [{ identity: 'psk-dev', key }] }, loadModels([]), c.io);
    const { address, port } = running.hub.servers.find((s) => s.transport === 'dtls')!.server.address();
    const wrong = Uint8Array.from(key, (b) => b ^ 0xff);
    await expect(connectClient(`coaps://${address}:${port}`, { endpointName: 'psk-dev', pskIdentity: 'psk-dev', pskKey: wrong, handshakeTimeoutMs: 1500 })).rejects.toThrow();
    for (let i = 0; i < 40 && c.err.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(c.err[0]).toMatch(/^lwm2m-gen server: DTLS handshake from 127\.0\.0\.1:\d+ refused( \(identity "psk-dev"\))?: \S/);
    for (const k of [key, wrong]) expect(c.err.join('\n')).not.toContain(Buffer.from(k).toString('hex'));
    expect(running.hub.clients()).toEqual([]);
  });
});
