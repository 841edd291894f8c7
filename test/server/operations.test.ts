// Operations from the page to CoAP requests: method, options and payload as LwM2M has them, and what is refused before sending.
import { ContentFormat } from '../../runtime/index.js';
import { loadModels } from '../../server/models.js';
import { parseOperationInput, planOperation } from '../../server/operations.js';

const models = loadModels([]);
const plan = (input: object) => planOperation(models, parseOperationInput(input));
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

test('read, observe, cancel and discover are GETs with Accept and Observe as the operation needs', () => {
  expect(plan({ op: 'read', path: '/3/0' }).request).toEqual({ method: 'GET' });
  expect(plan({ op: 'read', path: '/3/0', format: 112 }).request).toEqual({ method: 'GET', accept: 112 });
  expect(plan({ op: 'observe', path: '/3/0/9' }).request).toEqual({ method: 'GET', observe: 0 });
  expect(plan({ op: 'cancel-observe', path: '/3/0/9' }).request).toEqual({ method: 'GET', observe: 1 });
  expect(plan({ op: 'discover', path: '/3' }).request).toEqual({ method: 'GET', accept: ContentFormat.LINK_FORMAT });
});

test('a resource write is a PUT in text (or opaque) by default, in the chosen format otherwise; an instance write is a POST', () => {
  const w = plan({ op: 'write', path: '/3/0/14', value: 'UTC+01:00' });
  expect(w.request).toMatchObject({ method: 'PUT', contentFormat: ContentFormat.TEXT });
  expect(text(w.request.payload)).toBe('UTC+01:00');
  expect(plan({ op: 'write', path: '/3/0/14', value: 'UTC+01:00', format: 110 }).request.contentFormat).toBe(110);
  const i = plan({ op: 'write', path: '/1/0', values: { 1: '600', 2: '5' } });
  expect(i.request).toMatchObject({ method: 'POST', contentFormat: ContentFormat.TLV });
  expect(i.expect).toBe('2.04');
});

test('execute carries its arguments, create its values, write-attributes its query', () => {
  expect(text(plan({ op: 'execute', path: '/5/0/2', args: "0='now',1" }).request.payload)).toBe("0='now',1");
  expect(plan({ op: 'execute', path: '/3/0/4' }).request).toEqual({ method: 'POST' });
  const c = plan({ op: 'create', path: '/26241', values: { 0: 'logLevel' } });
  expect(c.request).toMatchObject({ method: 'POST', contentFormat: ContentFormat.TLV });
  expect(c.expect).toBe('2.01');
  expect(plan({ op: 'write-attributes', path: '/3/0/9', attributes: 'pmin=5&pmax=60 gt=50' }).request).toEqual({ method: 'PUT', query: ['pmin=5', 'pmax=60', 'gt=50'] });
  expect(plan({ op: 'write-attributes', path: '/3/0/9', attributes: 'pmin' }).request.query).toEqual(['pmin']);
  expect(plan({ op: 'delete', path: '/26241/0' }).request).toEqual({ method: 'DELETE' });
});

test.each([
  [{ op: 'read' }, /"path" must be/],
  [{ op: 'read', path: '/3/0', value: 5 }, /"value" must be a string/],
  [{ op: 'write', path: '/1/0', values: { 1: 600 } }, /"values" must map resource ids to strings/],
  [{ op: 'write', path: '/3' }, /Write addresses instance or resource/],
  [{ op: 'write', path: '/3/0/14' }, /needs "value"/],
  [{ op: 'write', path: '/3/0/7', value: '1' }, /Power Source Voltage \(\/3\/0\/7\) is not writable \(operations R\)/],
  [{ op: 'write', path: '/1/0', values: { 99: '1' } }, /no resource 99 in object 1/],
  [{ op: 'write', path: '/1/0', values: {} }, /no values to send/],
  [{ op: 'create', path: '/26241/0', values: {} }, /Create addresses object paths/],
  [{ op: 'create', path: '/26241', values: { 2: 'x' } }, /is not a value resource/],
  [{ op: 'execute', path: '/3/0' }, /Execute addresses resource paths/],
  [{ op: 'write-attributes', path: '/3/0/9' }, /needs "attributes"/],
  [{ op: 'write-attributes', path: '/3/0/9', attributes: 'pmin=10&pmax=5' }, /pmax/],
  [{ op: 'read', path: '/70000' }, /is not an LwM2M path/],
])('refuses %j', (input, message) => {
  expect(() => plan(input)).toThrow(message);
});
