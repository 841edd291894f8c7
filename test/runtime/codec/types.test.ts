// The codecs' shared conversions: the 64-bit bounds both ways, paths, object links, base64.
import {
  fromBase64, inInteger, inTime, isUnder, makePath, outInteger, outIntegerFast, parseObjlnk, pathDepth, toBase64,
} from '../../../runtime/codec/types.js';
import { ValueError } from '../../../runtime/errors.js';
import { INT64_MAX, INT64_MIN, UINT64_MAX } from '../../../runtime/model.js';

const p = makePath(3, 0, 1);

test('integers out and in stop at the 64-bit bounds the model names', () => {
  expect(outInteger(INT64_MAX, false, p)).toBe(INT64_MAX);
  expect(outInteger(INT64_MIN, false, p)).toBe(INT64_MIN);
  expect(() => outInteger(INT64_MAX + 1n, false, p)).toThrow(ValueError);
  expect(outInteger(UINT64_MAX, true, p)).toBe(UINT64_MAX);
  expect(() => outInteger(-1, true, p)).toThrow(ValueError);
  expect(outIntegerFast(5, false, p)).toBe(5);
  expect(inInteger(2n ** 40n, false, p)).toBe(2 ** 40);
  expect(inInteger(INT64_MAX, false, p)).toBe(INT64_MAX);
  expect(() => inInteger(UINT64_MAX + 1n, true, p)).toThrow(ValueError);
  expect(() => inInteger(2 ** 60, false, p)).toThrow(ValueError);
  expect(inTime(1_700_000_000, p)).toEqual(new Date(1_700_000_000_000));
});

test('paths: depth and containment', () => {
  expect(pathDepth(makePath(3))).toBe(1);
  expect(pathDepth(makePath(3, 0, 6, 1))).toBe(4);
  expect(isUnder(makePath(3, 0), makePath(3, 0, 1))).toBe(true);
  expect(isUnder(makePath(3, 0), makePath(3, 1, 1))).toBe(false);
});

test('object links and base64', () => {
  expect(parseObjlnk('3:0', p)).toEqual({ objectId: 3, instanceId: 0 });
  expect(() => parseObjlnk('3', p)).toThrow(ValueError);
  const bytes = Uint8Array.of(0xfb, 0xff, 0x01);
  expect(toBase64(bytes, false)).toBe('+/8B');
  expect(toBase64(bytes, true)).toBe('-_8B');
  expect(fromBase64('+/8B', p)).toEqual(bytes);
});
