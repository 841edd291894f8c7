// The example's --send against independent peers: libcoap (coap-rd registers the device, coap-server takes /dp) and coap-shepherd, a LwM2M 1.0 server that has no Send.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as cbor from 'cbor';
import { startSimpleDevice, type SimpleDevice } from '../../../examples/simple-device/index.js';
import { PathRouter } from '../../support/path-router.js';
import { startShepherd, type RunningShepherd } from '../../support/shepherd.js';
import { runDevice, type DeviceProcess } from '../support/device-process.js';
import { haveLibcoap, startLibcoap, type LibcoapServer } from '../support/libcoap.js';

const KEY = 'send-interop-psk';
const describeLibcoap = haveLibcoap ? describe : describe.skip;

describeLibcoap('--send through libcoap: coap-rd for /rd, coap-server for /dp, behind one address', () => {
  let rd: LibcoapServer | undefined;
  let dp: LibcoapServer | undefined;
  let router: PathRouter | undefined;
  let child: DeviceProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await child?.kill();
    await router?.stop();
    await rd?.stop();
    await dp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the device registers with coap-rd, and coap-server takes its SenML CBOR at /dp; node-cbor reads back /3/0/9 and /3/0/13', async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', KEY, '-h', 'hint']);
    // -d: coap-server creates a resource for a POST to a path it lacks (2.01), and a later POST replaces its body (2.04).
    dp = await startLibcoap('coap-server-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-d', '4', '-k', KEY]);
    router = await new PathRouter({ routes: { dp: dp.port }, fallback: rd.port }).start();
    child = runDevice([
      '--server', `coap://127.0.0.1:${router.port}`, '--endpoint', 'send-interop', '--lifetime', '60',
      '--send', '/3/0/9,/3/0/13', '--send-interval', '5',
    ]);
    await child.line(/^registered as send-interop at \/rd\//);
    // libcoap's answers, as the device prints them: Created for the first Send, Changed for the next.
    await child.line(/^send \/3\/0\/9,\/3\/0\/13 -> 2\.01 \(2 values, SenML CBOR\)$/);
    await child.line(/^send \/3\/0\/9,\/3\/0\/13 -> 2\.04 \(2 values, SenML CBOR\)$/);
    const sentBy = Date.now() / 1000;

    // What coap-server holds at /dp now is the body of the last Send, byte for byte.
    dir = mkdtempSync(join(tmpdir(), 'send-interop-'));
    const out = join(dir, 'dp.cbor');
    const got = spawnSync('coap-client-notls', ['-m', 'get', '-B', '5', '-o', out, `coap://127.0.0.1:${dp.port}/dp`], { encoding: 'utf8' });
    expect(got.status).toBe(0);
    const records = cbor.decodeFirstSync(readFileSync(out)) as Array<Map<number, unknown>>;
    expect(records).toHaveLength(2);
    expect([records[0]!.get(0), records[1]!.get(0)]).toEqual(['/3/0/9', '/3/0/13']);
    const bt = records[0]!.get(-3) as number;
    expect(Math.abs(bt - sentBy)).toBeLessThan(30);
    const battery = records[0]!.get(2) as number;
    expect(Number.isInteger(battery) && battery >= 0 && battery <= 100).toBe(true);
    // Current Time is a Time: seconds since the epoch, the device's clock at the Send.
    expect(Math.abs((records[1]!.get(2) as number) - bt)).toBeLessThan(5);
    expect(records[1]!.has(6)).toBe(false);
  }, 90_000);
});

describe('--send to coap-shepherd (LwM2M 1.0: no Send)', () => {
  let running: RunningShepherd;
  let dev: SimpleDevice | undefined;
  beforeAll(async () => {
    running = await startShepherd({ stripLinkAttributes: true });
  });
  afterEach(async () => {
    await dev?.stop();
    dev = undefined;
  });
  afterAll(async () => {
    await running.stop();
  });

  async function sendOnce(endpoint: string): Promise<string> {
    const incoming = running.incoming(endpoint);
    const lines: string[] = [];
    dev = await startSimpleDevice({
      server: `coap://127.0.0.1:${running.port}`, endpoint, lifetime: 600, preferredFormat: 11542,
      sendPaths: ['/3/0/9', '/3/0/13'], log: (l) => lines.push(l), coap: { ackTimeout: 300, maxRetransmit: 1, ackRandomFactor: 1 },
    });
    await incoming;
    await waitFor(() => lines.some((l) => l.startsWith('send ')));
    // It goes on serving the device either way.
    expect(await running.shepherd.find(endpoint)!.readReq('/3/0/0')).toEqual({ status: '2.05', data: 'lwm2m-gen' });
    return lines.find((l) => l.startsWith('send '))!;
  }

  it('as shipped, drops the Send unanswered: its node-coap 0.22 knows no SenML Content-Format (110, 112) and discards the request', async () => {
    expect(await sendOnce('send-shep-1')).toMatch(/^send \/3\/0\/9,\/3\/0\/13 failed: the Send got no answer \(no ACK after 2 transmissions/);
  }, 30_000);

  it('taught the SenML formats (as it registers TLV itself), answers 4.04: it reads POST /dp as an Update of an unknown registration', async () => {
    const coap = createRequire(createRequire(import.meta.url).resolve('coap-shepherd'))('coap') as { registerFormat(name: string, value: number): void };
    coap.registerFormat('application/senml+json', 110);
    coap.registerFormat('application/senml+cbor', 112);
    expect(await sendOnce('send-shep-2')).toBe('send /3/0/9,/3/0/13 -> 4.04 (the server answered the Send with 4.04)');
  }, 30_000);
});

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
