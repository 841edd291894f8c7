// The runtime's Security instance: the account it reads, its defaults, and no key in JSON, inspection or errors.
import { inspect } from 'node:util';
import { SecurityInstance, SecurityMode, copySecurityInstance } from '../../../runtime/client/index.js';

const KEY = new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);

describe('SecurityInstance', () => {
  it('reads its account: PSK when a key is given, NoSec otherwise', () => {
    const psk = new SecurityInstance(2, { uri: 'coaps://dm:5684', shortServerId: 4, pskIdentity: 'dev', pskKey: KEY, clientHoldOffTime: 3 });
    expect(psk.account()).toEqual({
      instanceId: 2, uri: 'coaps://dm:5684', bootstrap: false, mode: SecurityMode.PSK, pskIdentity: 'dev', pskKey: KEY,
      shortServerId: 4, clientHoldOffTime: 3, accountTimeout: 0,
    });
    expect(new SecurityInstance(0, { uri: 'coap://bs', bootstrap: true, accountTimeout: 60 }).account())
      .toMatchObject({ bootstrap: true, mode: SecurityMode.NO_SEC, pskKey: undefined, pskIdentity: undefined, accountTimeout: 60 });
    expect(copySecurityInstance(psk, 7).account()).toMatchObject({ instanceId: 7, pskKey: KEY });
  });

  it('a management server cannot read it (no resource is readable) and an empty instance names what is missing', () => {
    const inst = new SecurityInstance(1, { uri: 'coap://dm', pskKey: KEY });
    expect(() => inst.readResource(5)).toThrow(/not readable/);
    expect(inst.readAll().size).toBe(0);
    expect(() => new SecurityInstance(3).account()).toThrow(/\/0\/3\/0: missing/);
  });

  it('never shows its key in JSON, inspection or a refused value', () => {
    const inst = new SecurityInstance(1, { uri: 'coaps://dm', pskIdentity: 'dev', pskKey: KEY });
    const hex = Buffer.from(KEY).toString('hex');
    expect(JSON.stringify({ inst })).toBe('{"inst":{"path":"/0/1"}}');
    expect(inspect(inst)).toBe('SecurityInstance /0/1');
    let message = '';
    try {
      inst.restore(new Map([[8, KEY]]));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/\/0\/1\/8: value is 6 bytes long, outside 16,32,48 bytes/);
    expect(message).not.toContain(hex);
  });
});
