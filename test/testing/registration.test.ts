// The Register/Update checks on their own: what a real server accepts and what it refuses with 4.00.
import type { IncomingRequest } from '../../runtime/coap/index.js';
import { queryValue, registerProblem, updateProblem } from '../../testing/registration.js';

const utf8 = new TextEncoder();

function req(query: string[], payload = '</1/0>,</3/0>', contentFormat: number | undefined = 40): IncomingRequest {
  const base = {
    peer: { address: '127.0.0.1', port: 1 }, method: 'POST' as const, path: ['rd'], query, token: new Uint8Array(0),
    confirmable: true, payload: utf8.encode(payload), options: [],
  };
  return contentFormat === undefined ? base : { ...base, contentFormat };
}

describe('registration checks', () => {
  it('reads query items, bare ones as ""', () => {
    expect(queryValue(['ep=a', 'Q', 'lt=5'], 'lt')).toBe('5');
    expect(queryValue(['ep=a', 'Q'], 'Q')).toBe('');
    expect(queryValue(['ep=a'], 'b')).toBeUndefined();
  });

  it('accepts what LwM2M 1.0 to 1.2 clients send', () => {
    expect(registerProblem(req(['ep=dev-1', 'lt=300', 'lwm2m=1.2', 'b=UQ', 'sms=123']))).toBeUndefined();
    expect(registerProblem(req(['ep=urn:imei:490154203237518'], '</>;rt="oma.lwm2m";ct=11543,</1/0>', undefined))).toBeUndefined();
    expect(updateProblem(req([], ''))).toBeUndefined();
    expect(updateProblem(req(['lt=60', 'b=T']))).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(registerProblem(req([]))).toMatch(/no endpoint name/);
    expect(registerProblem(req(['ep=a\u0001b']))).toMatch(/not an endpoint name/);
    expect(registerProblem(req(['ep=<img src=x onerror=alert(1)>']))).toBeUndefined();
    expect(registerProblem(req(['ep=a', 'lt=1.5']))).toMatch(/lt=1\.5/);
    expect(registerProblem(req(['ep=a', 'lwm2m=1']))).toMatch(/lwm2m=1 /);
    expect(registerProblem(req(['ep=a'], ''))).toMatch(/no object links/);
    expect(registerProblem(req(['ep=a'], '</3/0>', 110))).toMatch(/Content-Format is 110/);
    expect(updateProblem(req(['b=UDP']))).toMatch(/b=UDP/);
    expect(updateProblem(req([], '</3/0'))).toMatch(/not valid link-format/);
  });
});
