// Execute's afterResponse through the client's router: the 2.04 is produced first, the deferred work runs after, its failures are reported, a failed Execute runs nothing.
import type { IncomingRequest } from '../../../runtime/coap/types.js';
import { AttributeStore } from '../../../runtime/notify/index.js';
import { ObjectRegistry } from '../../../runtime/client/registry.js';
import { RequestRouter } from '../../../runtime/client/router.js';
import type { ExecuteArguments } from '../../../runtime/object/execute-args.js';
import { DeviceBase } from '../../../generated/device.js';

class Dev extends DeviceBase {
  readonly events: string[] = [];
  constructor() {
    super(0, { supportedBindingAndModes: 'U', errorCode: [0] });
  }
  reboot(args: ExecuteArguments): void {
    if (args.args.get(0) === 'refuse') throw new Error('handler failed');
    this.events.push('handler');
    args.afterResponse(() => { this.events.push('after'); });
    if (args.args.get(0) === 'explode') args.afterResponse(() => { throw new Error('after exploded'); });
  }
}

function req(payload: string): IncomingRequest {
  return {
    peer: { address: '127.0.0.1', port: 5683 }, method: 'POST', path: ['3', '0', '4'], query: [], token: new Uint8Array([1]),
    confirmable: true, payload: new TextEncoder().encode(payload), options: [],
  };
}

function setup() {
  const registry = new ObjectRegistry();
  const dev = new Dev();
  registry.addInstance(dev);
  const errors: Error[] = [];
  const router = new RequestRouter({ registry, attributes: new AttributeStore(), preferredFormat: 11542, onInternalError: (e) => errors.push(e) });
  return { dev, router, errors };
}

const nextMacrotask = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

it('answers 2.04 before the deferred work runs', async () => {
  const { dev, router } = setup();
  const { response } = await router.handle(req(''));
  expect(response.code).toBe('2.04');
  expect(dev.events).toEqual(['handler']);
  await nextMacrotask();
  expect(dev.events).toEqual(['handler', 'after']);
});

it('reports a failing task to onInternalError and still runs the others', async () => {
  const { dev, router, errors } = setup();
  expect((await router.handle(req("0='explode'"))).response.code).toBe('2.04');
  await nextMacrotask();
  await nextMacrotask();
  expect(dev.events).toEqual(['handler', 'after']);
  expect(errors.map((e) => e.message)).toEqual(['after exploded']);
});

it('runs nothing after an Execute that failed', async () => {
  const { dev, router, errors } = setup();
  expect((await router.handle(req("0='refuse'"))).response.code).toBe('5.00');
  await nextMacrotask();
  expect(dev.events).toEqual([]);
  expect(errors.map((e) => e.message)).toEqual(['handler failed']);
});
