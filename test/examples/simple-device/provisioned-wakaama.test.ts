// Issue 14's done-when against independent peers: Wakaama's bootstrap server provisions the example device for coap-shepherd (NoSec) and a DTLS-PSK server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFormat } from '../../../runtime/codec/index.js';
import { DtlsPskServer, TestLwm2mServer } from 'lwm2m-gen/testing';
import { startShepherd, type RunningShepherd } from '../../support/shepherd.js';
import { startWakaamaBootstrap, wakaamaBootstrapServer, type RunningWakaama } from '../../support/wakaama.js';
import { runDevice, type DeviceProcess } from '../support/device-process.js';

const text = new TextDecoder();
const IDENTITY = 'prov-wk-identity';
const KEY = Buffer.from('wakaama-provisioned-psk');
const SECRETS = [IDENTITY, KEY.toString('latin1'), KEY.toString('hex'), Buffer.from(IDENTITY).toString('hex')];

let dir: string;
let shepherd: RunningShepherd;
let dtls: TestLwm2mServer;
let bs: RunningWakaama;
let child: DeviceProcess | undefined;

beforeAll(() => {
  wakaamaBootstrapServer(); // built once here, so no test's time goes into cmake
}, 120_000);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wakaama-'));
  shepherd = await startShepherd({ stripLinkAttributes: true });
  const transport = await DtlsPskServer.start({ psk: { [IDENTITY]: KEY }, address: '127.0.0.1', port: 0 });
  dtls = await TestLwm2mServer.start({ transport, coap: { ackTimeout: 500, maxRetransmit: 2, ackRandomFactor: 1 } });
  bs = await startWakaamaBootstrap(dir, 'prov-wk', [
    { id: 3, uri: `coap://127.0.0.1:${shepherd.port}`, lifetime: 120 },
    { id: 4, uri: `coaps://127.0.0.1:${dtls.address().port}`, lifetime: 120, psk: { identity: Buffer.from(IDENTITY), key: KEY } },
  ]);
});

afterEach(async () => {
  await child?.kill();
  child = undefined;
  await bs?.stop();
  await dtls.close();
  await shepherd.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves with the next value coap-shepherd gets notified of for the client and path (which it names by lwm2m-id's keys). */
function shepherdNotified(path: '/device/0/battLevel'): Promise<unknown> {
  return new Promise((resolve) => {
    const listener = (msg: { type: string; cnode?: { clientName: string }; data?: unknown }): void => {
      const data = msg.data as { path?: string; value?: unknown } | undefined;
      if (msg.type === 'devNotify' && msg.cnode?.clientName === 'prov-wk' && data?.path === path) {
        shepherd.shepherd.removeListener('ind', listener);
        resolve(data.value);
      }
    };
    shepherd.shepherd.on('ind', listener);
  });
}

describe('the example device provisioned by Wakaama\'s bootstrap server', () => {
  it('registers with both provisioned servers and answers them; restarted, it resumes both without bootstrap; no secret is printed', async () => {
    const args = ['--bootstrap', `coap://127.0.0.1:${bs.port}`, '--endpoint', 'prov-wk', '--state', dir, '--interval', '1'];
    const joined = shepherd.incoming('prov-wk');
    child = runDevice(args);
    for (const step of ['delete / -> 2.02', 'write /0/3 -> 2.04', 'write /1/3 -> 2.04', 'write /0/4 -> 2.04', 'write /1/4 -> 2.04', 'finish /bs -> 2.04']) {
      await child.line(new RegExp(`^bootstrap: ${step.replace(/[/.]/g, '\\$&')}`));
    }
    await joined;
    await dtls.registration('prov-wk', { timeoutMs: 30_000 });
    expect(dtls.findRegistration('prov-wk')!.query).toEqual(expect.arrayContaining(['ep=prov-wk', 'lt=120']));

    const node = shepherd.shepherd.find('prov-wk')!;
    expect(await node.readReq('/3/0/0')).toMatchObject({ status: '2.05', data: 'lwm2m-gen' });
    const read = await dtls.read('prov-wk', '/3/0/0', ContentFormat.TEXT);
    expect([read.code, text.decode(read.payload)]).toEqual(['2.05', 'lwm2m-gen']);
    // A DM server never reaches /0, the accounts Wakaama wrote.
    expect((await node.readReq('/0/3')).status).toBe('4.01');

    expect((await node.observeReq('/3/0/9')).status).toBe('2.05');
    await shepherdNotified('/device/0/battLevel'); // /3/0/9
    const obs = await dtls.observe('prov-wk', '/3/0/9', ContentFormat.TEXT);
    const before = await obs.next();

    child.proc.kill('SIGINT');
    expect(await child.exit).toBe(0);
    const firstRun = [...child.lines];

    child = runDevice(args);
    await child.line(/^updated \/rd\/.*coap:\/\//);
    await child.line(/^updated \/rd\/.*coaps:\/\//);
    expect(child.lines.filter((l) => l.startsWith('restored observation /3/0/9'))).toHaveLength(2);
    expect(bs.requests('prov-wk')).toBe(1);
    // Both observations made before the restart notify again: coap-shepherd's, and the DTLS server's with a later sequence number.
    await shepherdNotified('/device/0/battLevel'); // /3/0/9
    const count = obs.notifications.length;
    let after = await obs.next();
    while (obs.notifications.length <= count) after = await obs.next();
    expect(after.observe!).toBeGreaterThan(before.observe!);

    const printed = [...firstRun, ...child.lines].join('\n');
    for (const secret of SECRETS) expect(printed).not.toContain(secret);
  }, 120_000);
});
