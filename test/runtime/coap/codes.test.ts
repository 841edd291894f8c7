// The one table of methods and codes: method ↔ code, which codes a handler may answer, code bytes.
import { codeClass, codeFromString, codeOfMethod, codeToString, isResponseCode, methodOfCode } from '../../../runtime/coap/codes.js';

test('methods and their codes, both ways; codes that are no method', () => {
  for (const [code, method] of [['0.01', 'GET'], ['0.02', 'POST'], ['0.03', 'PUT'], ['0.04', 'DELETE'], ['0.05', 'FETCH'], ['0.06', 'PATCH'], ['0.07', 'iPATCH']] as const) {
    expect(methodOfCode(code)).toBe(method);
    expect(codeOfMethod(method)).toBe(code);
  }
  expect(methodOfCode('0.08')).toBeUndefined();
  expect(methodOfCode('2.05')).toBeUndefined();
  expect(codeOfMethod('OPTIONS')).toBeUndefined();
});

test('response codes a handler may answer: 2.xx, 4.xx, 5.xx with a detail up to 31', () => {
  for (const ok of ['2.05', '4.04', '5.03', '2.31', '4.00']) expect(isResponseCode(ok)).toBe(true);
  for (const bad of ['0.01', '3.00', '2.32', '2.5', '2.050', '6.00', 'x.05', '']) expect(isResponseCode(bad)).toBe(false);
});

test('code class and code bytes', () => {
  expect(codeClass('0.01')).toBe(0);
  expect(codeClass('4.13')).toBe(4);
  expect(codeClass('7.01')).toBe(7);
  expect(codeFromString('4.13')).toBe(0x8d);
  expect(codeToString(0x8d)).toBe('4.13');
  expect(() => codeFromString('8.00')).toThrow(RangeError);
});
