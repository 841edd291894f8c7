// The DeviceClient's sections survive the store's encoding: bytes, multiple resources, object links, sessions.
import { decodeSections, encodeSections } from '../../../runtime/store/index.js';
import { loadInstances, loadSessions, storeInstances, storeSessions, type KeptSession } from '../../../runtime/client/index.js';

describe('device state sections', () => {
  it('instances round-trip with Opaque, Time, bigint, multiple resources and object links', () => {
    const values = new Map<number, unknown>([
      [0, 'coaps://dm'], [1, false], [3, new Uint8Array([1, 2, 255])], [5, new Date(1_700_000_000_000)], [6, 2n ** 62n],
      [16, new Map([[0, 49320], [3, 49326]])], [10, { objectId: 11, instanceId: 2 }],
    ]);
    const text = encodeSections({ security: storeInstances([{ instanceId: 1, values: values as never }]) });
    const back = loadInstances(decodeSections(text, 'test').security)!;
    expect(back).toHaveLength(1);
    expect(back[0]!.instanceId).toBe(1);
    expect(back[0]!.values).toEqual(values);
    expect(loadInstances(undefined)).toBeUndefined();
  });

  it('sessions round-trip by Short Server ID with tokens, paths, sequence numbers and attributes', () => {
    const session: KeptSession = {
      registration: { location: ['rd', '7'], lifetime: 300, binding: 'U', links: '</3/0>' },
      observations: [{ token: new Uint8Array([9, 8, 7]), path: { objectId: 3, instanceId: 0, resourceId: 9 }, sequence: 41, confirmable: false, accept: 0 }],
      attributes: [{ path: { objectId: 3, instanceId: 0, resourceId: 9 }, attributes: { pmin: 2, gt: 50 } }],
      localPort: 40123,
    };
    const text = encodeSections({ sessions: storeSessions(new Map([[101, session]])) });
    expect(loadSessions(decodeSections(text, 'test').sessions)).toEqual(new Map([[101, session]]));
    expect(loadSessions(undefined).size).toBe(0);
  });
});
