// The test server's Send: acceptSend's checks and decoding (relative and absolute SenML times, typed by models), and RegisteredDevice's nextSend and sends.
import { ContentFormat, type IncomingRequest } from 'lwm2m-gen/runtime';
import { acceptSend } from '../../testing/send.js';
import { createUdpRig } from '../support/registered-client.js';
import { DeviceDef, TestDevice } from '../support/objects.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A POST /dp as the endpoint hands it over; `contentFormat` null for none. */
function post(payload: string, contentFormat: number | null = ContentFormat.SENML_JSON): IncomingRequest {
  return {
    peer: { address: '127.0.0.1', port: 5 }, method: 'POST', path: ['dp'], query: [], token: new Uint8Array(0), confirmable: true,
    payload: utf8.encode(payload), options: [], ...(contentFormat !== null ? { contentFormat } : {}),
  };
}

describe('acceptSend', () => {
  it('resolves absolute times (bt + t) and relative ones (below 2^28 s) from the time of receipt', () => {
    const before = Date.now();
    const { response, report } = acceptSend(post('[{"bt":1700000000,"n":"/3/0/9","v":87,"t":-1.5},{"n":"/3/0/13","v":1700000000,"bt":-10}]'), 'dev');
    expect(response.code).toBe('2.04');
    expect(report!.values[0]).toEqual({ path: '/3/0/9', value: 87, time: new Date(1_699_999_998_500) });
    const relative = report!.values[1]!.time!.getTime();
    expect(relative).toBeGreaterThanOrEqual(before - 10_000);
    expect(relative).toBeLessThanOrEqual(Date.now() - 10_000);
    // With the device's models, Current Time (a Time resource) is a Date.
    expect(report!.typed([DeviceDef])[1]!.value).toEqual(new Date(1_700_000_000_000));
    expect([report!.endpoint, report!.bytes, report!.byPath.get('/3/0/9')]).toEqual(['dev', post('[{"bt":1700000000,"n":"/3/0/9","v":87,"t":-1.5},{"n":"/3/0/13","v":1700000000,"bt":-10}]').payload.length, 87]);
  });

  it('refuses a body it cannot read with 4.00 and its reason, another format with 4.15', () => {
    const bad = acceptSend(post('[{"n":"/3/0/9","v":true}]'), 'dev');
    expect(bad.report).toBeUndefined();
    expect([bad.response.code, text.decode(bad.response.payload)]).toEqual(['4.00', '/3/0/9: true is not a valid "v" value']);
    expect(acceptSend(post('[]'), 'dev').response.code).toBe('4.00');
    expect(acceptSend(post('x', ContentFormat.LWM2M_CBOR), 'dev').response.code).toBe('4.15');
    expect(acceptSend(post('x', null), 'dev').response.code).toBe('4.15');
  });
});

describe('RegisteredDevice', () => {
  it('hands out each Send once through nextSend, keeps all in sends, and tells onSend listeners', async () => {
    const rig = await createUdpRig({ endpointName: 'td-send', objects: (c) => c.addInstance(new TestDevice()) });
    try {
      await rig.register();
      const dev = await rig.server.registration('td-send');
      const heard: string[] = [];
      const off = rig.server.onSend((r) => heard.push(r.endpoint));
      await rig.client.send(['/3/0/9']);
      await rig.client.send(['/3/0/0'], { format: ContentFormat.SENML_JSON });
      expect((await dev.nextSend()).byPath.get('/3/0/9')).toBe(87);
      expect((await dev.nextSend()).byPath.get('/3/0/0')).toBe('ACME');
      await expect(dev.nextSend({ timeoutMs: 100 })).rejects.toThrow('no Send from td-send within 100 ms');
      expect(dev.sends.map((s) => s.contentFormat)).toEqual([ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON]);
      off();
      await rig.client.send(['/3/0/9']);
      expect(heard).toEqual(['td-send', 'td-send']);
      expect((await dev.nextSend()).values).toHaveLength(1);
    } finally {
      await rig.close();
    }
  });
});
