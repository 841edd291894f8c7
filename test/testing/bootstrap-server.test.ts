// TestBootstrapServer on its own: what it answers to Bootstrap-Requests, and the log it keeps (paths and codes, no payloads).
import { createCoapEndpoint, createUdpTransport, type CoapEndpoint } from '../../runtime/coap/index.js';
import { TestBootstrapServer } from 'lwm2m-gen/testing';

const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
let bs: TestBootstrapServer;
let client: CoapEndpoint;

beforeEach(async () => {
  client = createCoapEndpoint(await createUdpTransport({ address: '127.0.0.1', port: 0 }), fast);
});
afterEach(async () => {
  await client.close();
  await bs.close();
});

describe('TestBootstrapServer', () => {
  it('answers 2.04 to POST /bs?ep= with a configuration, 4.00 without ep or configuration, 4.04 elsewhere', async () => {
    bs = await TestBootstrapServer.start({ coap: fast, config: (ep) => (ep === 'known' ? { servers: [] } : undefined) });
    // The default script then runs against the "client"; this one answers nothing, so the script fails, as recorded.
    client.serve(() => ({ code: '4.04' }));
    const next = bs.nextRequest('known');
    expect((await client.request(bs.address(), { method: 'POST', path: ['bs'], query: ['ep=known', 'pct=112'] })).code).toBe('2.04');
    const session = await next;
    expect(session).toMatchObject({ endpoint: 'known', preferredFormat: 112 });
    expect((await client.request(bs.address(), { method: 'POST', path: ['bs'], query: ['ep=unknown'] })).code).toBe('4.00');
    expect((await client.request(bs.address(), { method: 'POST', path: ['bs'], query: [] })).code).toBe('4.00');
    expect((await client.request(bs.address(), { method: 'POST', path: ['rd'], query: ['ep=known'] })).code).toBe('4.04');
    await bs.settled();
    expect(bs.failures).toHaveLength(1);
    expect(bs.failures[0]!.error.message).toBe('Bootstrap-Delete / answered 4.04: ');
    expect(bs.log).toEqual([{ endpoint: 'known', method: 'DELETE', path: '/', code: '4.04' }]);
    expect(bs.uri()).toBe(`coap://127.0.0.1:${bs.address().port}`);
  });
});
