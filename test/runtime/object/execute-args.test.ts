// Execute arguments: digits with optional quoted values, and a 4.00 for anything else.
import { parseExecuteArguments } from '../../../runtime/object/execute-args.js';
import { BadRequestError } from '../../../runtime/errors.js';

test('digits with and without values', () => {
  const a = parseExecuteArguments("0='3',1,5='a b'");
  expect(a.raw).toBe("0='3',1,5='a b'");
  expect([...a.args.entries()]).toEqual([[0, '3'], [1, undefined], [5, 'a b']]);
  expect(parseExecuteArguments('').args.size).toBe(0);
});

test.each(["0='3", 'x', "0=3", '10', "0='a',,1"])('refuses %p with BadRequestError', (raw) => {
  expect(() => parseExecuteArguments(raw, { objectId: 3, instanceId: 0, resourceId: 4 })).toThrow(BadRequestError);
});

test('afterResponse hands tasks to the collector given', () => {
  const tasks: unknown[] = [];
  const a = parseExecuteArguments('', undefined, (t) => tasks.push(t));
  a.afterResponse(() => undefined);
  expect(tasks).toHaveLength(1);
});
