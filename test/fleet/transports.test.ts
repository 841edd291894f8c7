// Fleet on every transport the runtime has: coap+tcp and coaps+tcp (TLS-PSK) against an RFC 8323 registration server, coaps (DTLS-PSK) against the test server on DtlsPskServer, coap and coaps against libcoap's coap-rd-gnutls, and coap-shepherd.
import { Device } from '../../generated/device.js';
import { Fleet } from '../../fleet/index.js';
import { describeLibcoap, startLibcoap, stopLibcoap, type LibcoapProcess } from '../support/libcoap.js';
import { StreamRegistrationServer } from '../support/stream-rd.js';
import { DtlsPskServer, TestLwm2mServer } from '../../testing/index.js';
import { startShepherd } from '../support/shepherd.js';

const KEY_HEX = '6c776d326d2d67656e2d666c6565742d6b6579';

function fleetOn(server: string, name: string, devices: number, secure: boolean): Fleet {
  return new Fleet({
    server, devices, endpoint: `${name}-{i}`,
    ...(secure ? { pskIdentity: 'id-{ep}', pskKey: KEY_HEX } : {}),
    objects: [Device], handshakeTimeoutMs: 5000, closeTimeoutMs: 1000,
  });
}

describe.each([['coap+tcp', false], ['coaps+tcp', true]] as const)('Fleet over %s://', (scheme, secure) => {
  it('devices connect, each with its own PSK identity, register, and de-register on stop', async () => {
    const rd = await new StreamRegistrationServer(secure ? Buffer.from(KEY_HEX, 'hex') : undefined).start();
    const fleet = fleetOn(`${scheme}://127.0.0.1:${rd.port}`, 'tcp', 6, secure);
    try {
      await fleet.start();
      expect(await fleet.waitRegistered(1, 15_000)).toBe(true);
      expect([...rd.registrations.values()].sort()).toEqual(['tcp-0', 'tcp-1', 'tcp-2', 'tcp-3', 'tcp-4', 'tcp-5']);
      if (secure) expect([...rd.identities].sort()).toEqual(['id-tcp-0', 'id-tcp-1', 'id-tcp-2', 'id-tcp-3', 'id-tcp-4', 'id-tcp-5']);
      const s = await fleet.stop();
      expect(s).toMatchObject({ started: 6, everRegistered: 6, registered: 0, deregistrations: 6 });
      expect(s.errors).toEqual({});
      expect(rd.registrations.size).toBe(0);
      expect(rd.deregistrations).toBe(6);
    } finally {
      await fleet.stop();
      await rd.stop();
    }
  });
});

describe('Fleet over coaps:// against the test server on DTLS-PSK', () => {
  it('each device handshakes with its own identity and key, registers, and de-registers on stop', async () => {
    const keys = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`dtls-${i}`, Buffer.from(`00112233445566778899aabbccdd${i.toString(16).padStart(4, '0')}`, 'hex')]));
    const dtls = await DtlsPskServer.start({ psk: keys });
    const server = await TestLwm2mServer.start({ transport: dtls });
    const fleet = new Fleet({
      server: `coaps://127.0.0.1:${server.address().port}`, devices: 4, endpoint: 'dtls-{i}',
      pskKey: '00112233445566778899aabbccdd{x:4}', objects: [Device], handshakeTimeoutMs: 10_000, closeTimeoutMs: 3000,
    });
    try {
      await fleet.start();
      expect(await fleet.waitRegistered(1, 30_000)).toBe(true);
      expect(server.findRegistration('dtls-3')).toBeDefined();
      expect(dtls.sessions).toHaveLength(4);
      const s = await fleet.stop();
      expect(s).toMatchObject({ everRegistered: 4, registered: 0, deregistrations: 4, errors: {} });
      expect(server.log.filter((e) => e.kind === 'deregister' && e.code === '2.02')).toHaveLength(4);
      expect(dtls.failures).toEqual([]);
    } finally {
      await fleet.stop();
      await server.close();
    }
  }, 60_000);
});

describeLibcoap('Fleet against coap-rd-gnutls (libcoap 4.3)', () => {
  let rd: LibcoapProcess | undefined;
  beforeEach(async () => {
    rd = await startLibcoap('coap-rd-gnutls', (port) => ['-A', '127.0.0.1', '-p', String(port), '-k', Buffer.from(KEY_HEX, 'hex').toString('latin1')]);
  });
  afterEach(() => stopLibcoap(rd?.proc));

  // coap-rd-gnutls 4.3.1 frees a registration twice when it is deleted and dies, so these stop after registering
  // and count the De-registers the dead server never answers; the test server and coap-shepherd check De-register.
  it.each([['coap', 0, false], ['coaps', 1, true]] as const)('%s:// devices register (DTLS: a handshake each)', async (scheme, offset, secure) => {
    const fleet = fleetOn(`${scheme}://127.0.0.1:${rd!.port + offset}`, scheme, 5, secure);
    try {
      await fleet.start();
      expect(await fleet.waitRegistered(1, 15_000)).toBe(true);
      expect(fleet.snapshot()).toMatchObject({ started: 5, everRegistered: 5, registrations: 5, errors: {} });
    } finally {
      await stopLibcoap(rd?.proc);
      const s = await fleet.stop();
      expect(s).toMatchObject({ registered: 0 });
      expect(s.errors['deregister timeout']).toBe(5);
      // Over DTLS the dead server's port unreachable also ends the session: its re-handshake fails, counted as transport.
      expect(Object.keys(s.errors).sort()).toEqual(secure ? ['deregister timeout', 'transport'] : ['deregister timeout']);
    }
  }, 60_000);
});

describe('Fleet against coap-shepherd (an independent LwM2M server)', () => {
  it('every device joins the shepherd, which reads its objects; stop removes them', async () => {
    const shepherd = await startShepherd({ stripLinkAttributes: true });
    const fleet = new Fleet({ server: `coap://127.0.0.1:${shepherd.port}`, devices: 10, endpoint: 'herd-{i}', objects: [Device] });
    try {
      const joined = Array.from({ length: 10 }, (_, i) => shepherd.incoming(`herd-${i}`));
      await fleet.start();
      await Promise.all(joined);
      const node = shepherd.shepherd.find('herd-4')!;
      const manufacturer = await node.readReq('/3/0/0');
      expect(manufacturer).toMatchObject({ status: '2.05', data: 'lwm2m-gen' });
      expect((await node.readReq('/3/0/2')).data).toBe('herd-4');
      expect(fleet.snapshot().requests).toBeGreaterThanOrEqual(20); // the shepherd reads every device's objects
      const s = await fleet.stop();
      expect(s).toMatchObject({ everRegistered: 10, registered: 0, deregistrations: 10 });
      expect(s.errors).toEqual({});
      expect(shepherd.shepherd.find('herd-4')).toBeUndefined();
    } finally {
      await fleet.stop();
      await shepherd.stop();
    }
  });
});
