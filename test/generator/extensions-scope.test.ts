// What --check-extensions looks at: include/exclude globs (the marker comment is tested through checkExtensions).
import { globToRegExp, pathFilter } from '../../generator/extensions-scope.js';

describe('include/exclude globs', () => {
  it('match within a folder (*), across folders (**), and a trailing / as the whole folder', () => {
    expect(globToRegExp('test/*.ts').test('test/a.ts')).toBe(true);
    expect(globToRegExp('test/*.ts').test('test/x/a.ts')).toBe(false);
    expect(globToRegExp('test/**/*.ts').test('test/a.ts')).toBe(true);
    expect(globToRegExp('test/**/*.ts').test('test/x/y/a.ts')).toBe(true);
    expect(globToRegExp('examples/').test('examples/simple-device/app.ts')).toBe(true);
    expect(globToRegExp('a?c.ts').test('abc.ts')).toBe(true);
    expect(globToRegExp('a.ts').test('abts')).toBe(false);
    const f = pathFilter(['src/**'], ['**/*.test.ts']);
    expect([f('src/a.ts'), f('src/a.test.ts'), f('lib/a.ts')]).toEqual([true, false, false]);
    expect(pathFilter([], [])('anything')).toBe(true);
  });
});
