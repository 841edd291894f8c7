// The example device as a child process (`node main.ts` through a transpile-only loader): registers, prints one line per event, de-registers on SIGTERM/SIGINT and exits 0.
import { HelpRequested, parseArgs, UsageError } from '../../../examples/simple-device/cli.js';
import { freePort } from '../../support/libcoap.js';
import { TestLwm2mServer } from 'lwm2m-gen/testing';
import { runDevice, type DeviceProcess } from '../support/device-process.js';

let server: TestLwm2mServer;
let child: DeviceProcess | undefined;

beforeEach(async () => {
  server = await TestLwm2mServer.start({ coap: { ackTimeout: 200, maxRetransmit: 1, ackRandomFactor: 1 } });
});
afterEach(async () => {
  if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill('SIGKILL');
    await child.exit;
  }
  child = undefined;
  await server.close();
});

it.each(['SIGTERM', 'SIGINT'] as const)('registers, answers a Read, and on %s de-registers and exits 0', async (signal) => {
  const { address, port } = server.address();
  child = runDevice(['--server', `coap://${address}:${port}`, '--endpoint', 'cli-dev', '--lifetime', '60', '--port', '0']);
  expect(await child.line(/registered/)).toMatch(/registered as cli-dev at \/rd\/\d+/);
  const res = await server.read('cli-dev', '/3/0/0');
  expect(res.code).toBe('2.05');
  await child.line(/GET \/3\/0\/0 -> 2\.05/);
  const from = server.log.length;
  child.proc.kill(signal);
  expect(await child.exit).toBe(0);
  const dereg = await server.waitFor('deregister', () => true, from);
  expect(dereg.code).toBe('2.02');
  expect(child.lines.some((l) => l.includes('deregistered'))).toBe(true);
  expect(server.findRegistration('cli-dev')).toBeUndefined();
});

it('a usage error exits 2 with the usage text, and never echoes the key', async () => {
  child = runDevice(['--server', 'coaps://127.0.0.1:5684', '--endpoint', 'x', '--psk-identity', 'id', '--psk-key', 'zz-secret']);
  expect(await child.exit).toBe(2);
  expect(child.lines.join('\n')).toMatch(/usage error: --psk-key must be an even number of hex digits/);
  expect(child.lines.join('\n')).not.toContain('zz-secret');
});

it('--help prints the usage and exits 0', async () => {
  child = runDevice(['--help']);
  expect(await child.exit).toBe(0);
  const out = child.lines.join('\n');
  expect(out).toMatch(/^usage: npm run device --/);
  expect(out).toContain('--format tlv|senml-json|senml-cbor|lwm2m-cbor|lwm2m-json');
  expect(out).not.toMatch(/usage error/);
});

it('with no server answering it says within 5 s that it is still trying and where; SIGINT then says it was not registered', async () => {
  const port = await freePort();
  child = runDevice(['--server', `coap://127.0.0.1:${port}`, '--endpoint', 'lonely', '--port', '0']);
  // From the device's start, not the process's: loading the TypeScript sources takes a while on a busy machine.
  await child.line(/^starting lonely/);
  const started = Date.now();
  const line = await child.line(/no answer/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(line).toBe(`no answer from coap://127.0.0.1:${port} after 3 s (attempt 1); still trying`);
  child.proc.kill('SIGINT');
  expect(await child.exit).toBe(0);
  expect(child.lines).toContain('SIGINT: not registered (yet), nothing to de-register; stopping');
  expect(child.lines.join('\n')).not.toMatch(/de-registering|did not answer the De-register/);
  // Loading the TypeScript sources alone takes 10-30 s while the rest of the suite runs.
}, 90_000);

it('--format announces the chosen Content-Format as ct= and answers instance Reads in it', async () => {
  const { address, port } = server.address();
  child = runDevice(['--server', `coap://${address}:${port}`, '--endpoint', 'fmt-dev', '--format', 'senml-json', '--port', '0']);
  await child.line(/registered as fmt-dev/);
  expect(server.findRegistration('fmt-dev')!.links).toMatch(/^<\/>;rt="oma.lwm2m";ct=110,/);
  const res = await server.read('fmt-dev', '/3/0');
  expect([res.code, res.contentFormat]).toEqual(['2.05', 110]);
  child.proc.kill('SIGTERM');
  expect(await child.exit).toBe(0);
}, 40_000);

describe('parseArgs', () => {
  it('takes --format and --notify, refusing what the device cannot announce', () => {
    const base = ['--server', 'coap://h', '--endpoint', 'e'];
    expect(parseArgs([...base, '--format', 'tlv'])).toMatchObject({ preferredFormat: 11542, notifyPreset: 'spec' });
    expect(parseArgs([...base, '--format', 'lwm2m-cbor', '--notify', '2016'])).toMatchObject({ preferredFormat: 11544, notifyPreset: '2016' });
    expect(() => parseArgs([...base, '--format', 'text'])).toThrow(/text cannot be announced/);
    expect(() => parseArgs([...base, '--format', 'xml'])).toThrow(/--format must be one of/);
    expect(parseArgs([...base, '--format', 'lwm2m-json'])).toMatchObject({ preferredFormat: 11543 });
    expect(() => parseArgs([...base, '--notify', '2020'])).toThrow(/--notify must be one of spec, 2016/);
    expect(() => parseArgs(['--help'])).toThrow(HelpRequested);
  });

  it('maps the command line to options', () => {
    expect(parseArgs(['--server', 'coaps://h:1', '--endpoint', 'e', '--port', '5000', '--lifetime', '90', '--psk-identity', 'id', '--psk-key', '0a0B'])).toMatchObject({
      server: 'coaps://h:1', endpoint: 'e', localPort: 5000, lifetime: 90, pskIdentity: 'id', pskKey: Uint8Array.from([10, 11]),
    });
    expect(parseArgs(['--server', 'coap://h', '--connection-string', 'HostName=a;DeviceId=b;SharedAccessKey=c2VjcmV0'])).toMatchObject({ connectionString: expect.any(String) });
  });
  it('refuses what makes no sense', () => {
    expect(() => parseArgs(['--endpoint', 'e'])).toThrow();
    expect(() => parseArgs(['--server', 'coap://h'])).toThrow(UsageError);
    expect(() => parseArgs(['--server', 'coap://h', '--endpoint', 'e', '--lifetime', '0'])).toThrow(/--lifetime/);
    expect(() => parseArgs(['--server', 'coap://h', '--endpoint', 'e', '--bogus', '1'])).toThrow(/bogus/);
  });
});
