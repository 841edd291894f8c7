// The CoAP code tables, written once for every transport: methods and their codes, response-code checks, code bytes.
import type { CoapMethod, ResponseCode } from './types.js';

const METHOD_CODES: Readonly<Record<string, CoapMethod>> = {
  '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE', '0.05': 'FETCH', '0.06': 'PATCH', '0.07': 'iPATCH',
};
const CODE_OF_METHOD: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(METHOD_CODES).map(([code, method]) => [method, code]),
);

/** "0.01" → "GET"; undefined for a code that is no method this layer serves. */
export function methodOfCode(code: string): CoapMethod | undefined {
  return METHOD_CODES[code];
}
/** "GET" → "0.01". */
export function codeOfMethod(method: string): string | undefined {
  return CODE_OF_METHOD[method];
}

/** Whether a handler's code is a response code that may go on the wire (2.xx, 4.xx, 5.xx, detail ≤ 31). */
export function isResponseCode(code: string): code is ResponseCode {
  // Character tests, not a regex: this runs for every response.
  if (code.length !== 4 || code.charCodeAt(1) !== 46) return false;
  const cls = code.charCodeAt(0);
  const d1 = code.charCodeAt(2) - 48;
  const d0 = code.charCodeAt(3) - 48;
  return (cls === 50 || cls === 52 || cls === 53) && d1 >= 0 && d1 <= 3 && d0 >= 0 && d0 <= 9 && d1 * 10 + d0 <= 31;
}

/** The class of a "class.detail" code: 0 request, 2 success, 4 client error, 5 server error, 7 signal. */
export function codeClass(code: string): number {
  return code.charCodeAt(0) - 48;
}

/** "2.05" → 0x45; accepts any class.detail with class 0..7 and detail 0..31. */
export function codeFromString(code: string): number {
  const m = /^([0-7])\.(\d{1,2})$/.exec(code);
  if (!m) throw new RangeError(`not a CoAP code: ${code}`);
  const detail = Number(m[2]);
  if (detail > 31) throw new RangeError(`not a CoAP code: ${code}`);
  return (Number(m[1]) << 5) | detail;
}

/** 0x45 → "2.05". */
export function codeToString(code: number): string {
  return `${code >> 5}.${String(code & 0x1f).padStart(2, '0')}`;
}
