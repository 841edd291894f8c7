// runBootstrap over real UDP: Client Hold Off Time, a bootstrap server that goes quiet (idle timeout, retry), strangers refused.
import { ContentFormat } from '../../../runtime/codec/index.js';
import { createCoapEndpoint, createUdpTransport, systemClock } from '../../../runtime/coap/index.js';
import {
  BootstrapError, ObjectRegistry, SECURITY_MODEL, SecurityInstance, runBootstrap, type BootstrapStep,
} from '../../../runtime/client/index.js';
import { TestBootstrapServer } from 'lwm2m-gen/testing';

const fast = { ackTimeout: 100, maxRetransmit: 1, ackRandomFactor: 1 };
let bs: TestBootstrapServer | undefined;

afterEach(async () => {
  await bs?.close();
  bs = undefined;
});

function setup(uri: string, holdOff: number): { registry: ObjectRegistry; account: ReturnType<SecurityInstance['account']> } {
  const registry = new ObjectRegistry();
  registry.addObject(SECURITY_MODEL);
  const inst = new SecurityInstance(0, { uri, bootstrap: true, clientHoldOffTime: holdOff });
  registry.addInstance(inst);
  return { registry, account: inst.account() };
}

describe('runBootstrap', () => {
  it('waits the Client Hold Off Time before the Bootstrap-Request, and sends pct=', async () => {
    bs = await TestBootstrapServer.start({ coap: fast, config: () => ({ servers: [{ uri: 'coap://127.0.0.1:9', shortServerId: 1 }] }) });
    const { registry, account } = setup(bs.uri(), 1);
    const steps: BootstrapStep[] = [];
    const started = Date.now();
    const session = await runBootstrap({
      endpointName: 'hold', account, registry, clock: systemClock, holdOff: true, transport: { coap: fast },
      preferredFormat: ContentFormat.SENML_CBOR, onStep: (s) => steps.push(s), stopped: () => false,
    });
    expect(bs.requests).toHaveLength(1);
    expect(bs.requests[0]!.preferredFormat).toBe(ContentFormat.SENML_CBOR);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(steps[0]).toEqual({ step: 'hold-off', seconds: 1 });
    expect(steps.at(-1)).toEqual({ step: 'done' });
    // Nothing is committed by runBootstrap itself.
    expect(registry.instances(1)).toEqual([]);
    expect(session.servers().map((s) => s.instanceId)).toEqual([1]);
  });

  it('counts a bootstrap server that answers the request and then goes quiet as a failed attempt, retries, then gives up', async () => {
    bs = await TestBootstrapServer.start({ coap: fast, script: async () => undefined });
    const { registry, account } = setup(bs.uri(), 0);
    const steps: BootstrapStep[] = [];
    await expect(runBootstrap({
      endpointName: 'quiet', account, registry, clock: systemClock, holdOff: true, transport: { coap: fast },
      idleTimeoutMs: 200, schedule: (n) => (n < 2 ? 20 : undefined), onStep: (s) => steps.push(s), stopped: () => false,
    })).rejects.toThrow(BootstrapError);
    expect(steps.map((s) => s.step)).toEqual(['request', 'retry', 'request', 'failed']);
    expect(steps[1]).toMatchObject({ reason: 'no Bootstrap-Finish came', attempt: 1, retryInMs: 20 });
    expect(bs.requests).toHaveLength(2);
  });

  it('answers 4.03 to a peer that is not its bootstrap server', async () => {
    let strangerCode = '';
    bs = await TestBootstrapServer.start({
      coap: fast,
      script: async (s) => {
        const stranger = createCoapEndpoint(await createUdpTransport({ address: '127.0.0.1', port: 0 }), fast);
        strangerCode = (await stranger.request(s.peer, { method: 'DELETE', path: [] })).code;
        await stranger.close();
        await s.provision({ servers: [{ uri: 'coap://127.0.0.1:9', shortServerId: 2 }] });
      },
    });
    const { registry, account } = setup(bs.uri(), 0);
    const session = await runBootstrap({
      endpointName: 'strangers', account, registry, clock: systemClock, holdOff: false, transport: { coap: fast },
      onStep: () => undefined, stopped: () => false,
    });
    expect(strangerCode).toBe('4.03');
    expect(session.servers().length).toBe(1);
  });
});
