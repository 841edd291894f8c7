// The UI's HTTP side over real sockets: the JSON API, malformed requests refused before the device sees them, Host and token checks.
import { startSimpleDevice, type SimpleDevice } from '../../examples/simple-device/index.js';
import { startServer, type RunningServer, type ServerArgs } from '../../server/cli.js';
import { escapeHtml } from '../../server/http.js';
import { loadModels } from '../../server/models.js';

const EP = 'http-dev';
const fast = { ackTimeout: 200, maxRetransmit: 2, ackRandomFactor: 1 };
const ARGS: ServerArgs = { host: '127.0.0.1', port: 0, dtlsPort: 0, uiHost: undefined, uiPort: 0, objects: [], psks: [] };
const models = loadModels([]);
let running: RunningServer;
let device: SimpleDevice;
let deviceLines: string[];

beforeAll(async () => {
  running = await startServer(ARGS, models);
  deviceLines = [];
  device = await startSimpleDevice({ server: running.hub.servers[0]!.server.uri(), endpoint: EP, coap: fast, log: (l) => deviceLines.push(l) });
});

afterAll(async () => {
  await device?.stop();
  await running?.close();
});

function op(body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }, ep = EP): Promise<Response> {
  return fetch(`${running.ui.url()}api/clients/${encodeURIComponent(ep)}/operations`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('lists the client and its objects with their models, and answers an operation with the decoded values and the timing', async () => {
  const clients = await (await fetch(`${running.ui.url()}api/clients`)).json() as Array<{ endpoint: string; objects: Array<{ objectId: number }> }>;
  expect(clients.map((c) => c.endpoint)).toEqual([EP]);
  expect(clients[0]!.objects.map((o) => o.objectId)).toEqual([1, 3, 5, 26241]);
  const m = await (await fetch(`${running.ui.url()}api/clients/${EP}/models`)).json() as { objects: Array<{ id: number; name: string; resources: Array<{ id: number; name: string; units?: string }> }> };
  const dev = m.objects.find((o) => o.id === 3)!;
  expect(dev.name).toBe('Device');
  expect(dev.resources.find((r) => r.id === 9)).toMatchObject({ name: 'Battery Level', units: '%' });
  const r = await op({ op: 'read', path: '/3/0/9' });
  expect(r.status).toBe(200);
  const body = await r.json() as { code: string; ms: number; values: Array<{ path: string; number: number }> };
  expect(body.code).toBe('2.05');
  expect(body.values[0]!.path).toBe('/3/0/9');
  expect(typeof body.values[0]!.number).toBe('number');
  expect(running.hub.log.at(-1)).toMatchObject({ endpoint: EP, kind: 'request', op: 'read', path: '/3/0/9', code: '2.05' });
});

test('the device answer is shown when it refuses: 4.04 for an instance it lacks', async () => {
  const body = await (await op({ op: 'read', path: '/3/7' })).json() as { code: string };
  expect(body.code).toBe('4.04');
});

test.each([
  ['not JSON', '{"op": "read",', /not JSON/],
  ['an unknown field', { op: 'read', path: '/3/0', evil: 1 }, /unknown field "evil"/],
  ['an unknown operation', { op: 'format', path: '/3/0' }, /"op" must be one of/],
  ['a bad path', { op: 'read', path: '/3/x' }, /is not an LwM2M path/],
  ['a resource that is not writable', { op: 'write', path: '/3/0/9', value: '50' }, /Battery Level \(\/3\/0\/9\) is not writable/],
  ['a value out of the range', { op: 'write', path: '/1/0/27', value: '256' }, /Profile ID Hash Algorithm/],
  ['a value of the wrong type', { op: 'write', path: '/3/0/13', value: 'noon' }, /"noon" is not a time/],
  ['Execute of a value resource', { op: 'execute', path: '/3/0/9' }, /is not executable/],
  ['bad Execute arguments', { op: 'execute', path: '/3/0/4', args: "0='open" }, /bad Execute arguments/],
  ['an unknown attribute', { op: 'write-attributes', path: '/3/0/9', attributes: 'pmin=1&colour=red' }, /unknown attribute "colour"/],
  ['gt above resource level', { op: 'write-attributes', path: '/3/0', attributes: 'gt=5' }, /resources and resource instances only/],
  ['Delete of a resource', { op: 'delete', path: '/3/0/9' }, /Delete addresses instance paths/],
  ['an unknown content format', { op: 'read', path: '/3/0', format: 12345 }, /"format" 12345/],
])('refuses %s with 400 and a clear message, sending nothing', async (_what, body, message) => {
  const logged = running.hub.log.length;
  const seen = deviceLines.length;
  const r = await op(body);
  expect(r.status).toBe(400);
  expect(((await r.json()) as { error: string }).error).toMatch(message);
  expect(running.hub.log.length).toBe(logged);
  expect(deviceLines.length).toBe(seen);
});

test('refuses an operation on an endpoint that is not registered (404), and a body that is not JSON by type (415)', async () => {
  expect((await op({ op: 'read', path: '/3/0' }, undefined, 'nobody')).status).toBe(404);
  expect((await op({ op: 'read', path: '/3/0' }, { 'content-type': 'text/plain' })).status).toBe(415);
});

test('on 127.0.0.1 a request naming another Host is refused (DNS rebinding), and so is a cross-site POST', async () => {
  const { request } = await import('node:http');
  const url = new URL(running.ui.url());
  const status = (headers: Record<string, string>, method = 'GET') => new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/api/clients', method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  expect(await status({ host: 'evil.example:80' })).toBe(403);
  expect(await status({ host: `127.0.0.1:${url.port}` })).toBe(200);
  expect(await status({ host: `127.0.0.1:${url.port}`, origin: 'http://evil.example' }, 'POST')).toBe(403);
});

test('with --ui-host the UI needs the token: 401 without, the page with ?token= sets an HttpOnly cookie, Bearer works', async () => {
  const guarded = await startServer({ ...ARGS, uiHost: '127.0.0.1' }, models);
  try {
    const token = new URL(guarded.pageUrl).searchParams.get('token')!;
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const base = guarded.ui.url();
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}api/clients`)).status).toBe(401);
    expect((await fetch(`${base}api/clients`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const page = await fetch(guarded.pageUrl);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect((await fetch(`${base}api/clients`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    expect((await fetch(`${base}api/clients`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  } finally {
    await guarded.close();
  }
});

test('escapeHtml leaves no character that opens markup or ends an attribute', () => {
  expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe('&#60;img src=x onerror=&#34;alert(&#39;1&#39;)&#34;&#62;&#38;');
});
