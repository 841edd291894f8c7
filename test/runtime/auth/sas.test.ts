import { inspect } from 'node:util';
import {
  ConnectionStringError, SasTokenError, SasTokenSource, createSasToken, deviceResourceUri, parseConnectionString,
} from '../../../runtime/auth/index.js';

const KEY = 'cGFzc3dvcmQ='; // "password"
const CS = `HostName=hub.example.net;DeviceId=dev1;SharedAccessKey=${KEY}`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('createSasToken', () => {
  it('matches the published Azure SDK vector', () => {
    expect(createSasToken({ resourceUri: 'uri', key: KEY, expiry: 12345 })).toBe(
      'SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345',
    );
  });
  it('appends skn and URL-encodes the resource', () => {
    const t = createSasToken({ resourceUri: 'hub.example.net/devices/dev 1', key: KEY, expiry: 1, keyName: 'iothubowner' });
    expect(t).toMatch(/^SharedAccessSignature sr=hub\.example\.net%2Fdevices%2Fdev%201&sig=[^&]+&se=1&skn=iothubowner$/);
  });
  it('refuses a key that is not base64 without echoing it', () => {
    const e = thrown(() => createSasToken({ resourceUri: 'uri', key: 'not*base64!', expiry: 1 }));
    expect(e).toBeInstanceOf(SasTokenError);
    expect((e as Error).message).not.toContain('not*base64!');
  });
  it('refuses a bad expiry', () => {
    expect(() => createSasToken({ resourceUri: 'uri', key: KEY, expiry: 1.5 })).toThrow(SasTokenError);
    expect(() => createSasToken({ resourceUri: '', key: KEY, expiry: 1 })).toThrow(SasTokenError);
  });
});

describe('parseConnectionString', () => {
  it('reads the required and optional keys', () => {
    const cs = parseConnectionString(`${CS};ModuleId=m1;GatewayHostName=gw;SharedAccessKeyName=policy;`);
    expect(cs).toMatchObject({ hostName: 'hub.example.net', deviceId: 'dev1', moduleId: 'm1', gatewayHostName: 'gw', sharedAccessKeyName: 'policy' });
    expect(cs.sharedAccessKey).toBe(KEY);
    expect(deviceResourceUri(cs)).toBe('hub.example.net/devices/dev1/modules/m1');
  });
  it('keeps the key out of inspect and JSON', () => {
    const cs = parseConnectionString(CS);
    expect(inspect(cs)).not.toContain(KEY);
    expect(JSON.stringify(cs)).not.toContain(KEY);
  });
  it.each([
    ['missing', 'HostName=h;DeviceId=d', 'SharedAccessKey'],
    ['empty', `HostName=;DeviceId=d;SharedAccessKey=${KEY}`, 'HostName'],
    ['duplicate', `${CS};DeviceId=other`, 'DeviceId'],
    ['unknown', `${CS};Foo=bar`, 'Foo'],
    ['malformed', `${CS};;`, undefined],
    ['malformed', 'garbage', undefined],
    ['invalid-key', 'HostName=h;DeviceId=d;SharedAccessKey=%%secret%%', 'SharedAccessKey'],
  ])('reports %s (%s)', (problem, text, field) => {
    const e = thrown(() => parseConnectionString(text));
    expect(e).toBeInstanceOf(ConnectionStringError);
    expect((e as ConnectionStringError).problem).toBe(problem);
    expect((e as ConnectionStringError).field).toBe(field);
  });
  it('never puts a key value into an error message', () => {
    const secret = 'c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw==';
    const cases = [
      `HostName=h;DeviceId=d;SharedAccessKey=${secret};SharedAccessKey=${secret}`,
      `HostName=h;DeviceId=;SharedAccessKey=${secret}`,
      `HostName=h;SharedAccessKey=${secret}`,
      `HostName=h;DeviceId=d;${secret}`,
      `HostName=h;DeviceId=d;SharedAccessKey=${secret}!`,
      `HostName=h;DeviceId=d;SharedAccessKey=${secret};${secret}=x`,
    ];
    for (const c of cases) {
      const e = thrown(() => parseConnectionString(c)) as Error;
      expect(e).toBeInstanceOf(ConnectionStringError);
      expect(e.message).not.toContain(secret.slice(0, 12));
      expect(inspect(e)).not.toContain(secret.slice(0, 12));
    }
  });
});

describe('SasTokenSource', () => {
  it('renews only when the token is within renewBeforeSeconds of expiry', () => {
    let now = 1_700_000_000_000;
    const src = new SasTokenSource(CS, { ttlSeconds: 3600, renewBeforeSeconds: 300, clock: () => now });
    expect(src.msUntilRenewal()).toBe(0);
    const first = src.current();
    expect(first.expiresAt).toBe(now + 3600_000);
    expect(first.token).toBe(createSasToken({ resourceUri: 'hub.example.net/devices/dev1', key: KEY, expiry: 1_700_003_600 }));
    expect(src.msUntilRenewal()).toBe(3300_000);
    now += 3300_000 - 1;
    expect(src.current()).toBe(first);
    expect(src.msUntilRenewal()).toBe(1);
    now += 1;
    const second = src.current();
    expect(second).not.toBe(first);
    expect(second.expiresAt).toBe(now + 3600_000);
    expect(src.msUntilRenewal()).toBe(3300_000);
  });
  it('rounds a fractional clock up so a token lives at least ttlSeconds', () => {
    const src = new SasTokenSource(CS, { ttlSeconds: 60, renewBeforeSeconds: 10, clock: () => 1_000_500 });
    expect(src.current().expiresAt).toBe(1_061_000);
  });
  it('signs with skn when the connection string names a policy', () => {
    const src = new SasTokenSource(`${CS};SharedAccessKeyName=device`, { ttlSeconds: 60, renewBeforeSeconds: 10, clock: () => 0 });
    expect(src.current().token).toMatch(/&skn=device$/);
  });
  it('refuses inconsistent timings and keeps the key out of its JSON', () => {
    expect(() => new SasTokenSource(CS, { ttlSeconds: 60, renewBeforeSeconds: 60 })).toThrow(SasTokenError);
    expect(() => new SasTokenSource(CS, { ttlSeconds: 0, renewBeforeSeconds: 0 })).toThrow(SasTokenError);
    const src = new SasTokenSource(CS, { ttlSeconds: 60, renewBeforeSeconds: 10 });
    const token = src.current().token;
    expect(JSON.stringify(src)).not.toContain(KEY);
    expect(inspect(src)).not.toContain(KEY);
    expect(inspect(src)).not.toContain(token);
  });
});
