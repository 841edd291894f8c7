// The main command's argument parser and help layout.
import { columns, helpText, parseArgs, stringsFlag, UsageError, wrapWords, type OptionSpec } from '../../generator/args.js';

const specs: OptionSpec[] = [
  { name: 'out', alias: 'o', kind: 'folder', describe: 'Output folder' },
  { name: 'check', kind: 'boolean', describe: 'Check only' },
  { name: 'tag', kind: 'strings', describe: 'A repeatable value' },
  { name: 'name', kind: 'string', describe: 'Any string' },
];

describe('parseArgs', () => {
  it('reads positionals, booleans, --x=v, aliases, repeatable values and everything after --', () => {
    const a = parseArgs(['a.xml', '--check', '-o', 'gen', '--tag', 'x', '--tag=y', '--name=', 'b.xml', '--', '--c.xml'], specs);
    expect(a.positional).toEqual(['a.xml', 'b.xml', '--c.xml']);
    expect(a.flags.get('check')).toBe(true);
    expect(a.flags.get('out')).toBe('gen');
    expect(a.flags.get('name')).toBe('');
    expect(stringsFlag(a, 'tag')).toEqual(['x', 'y']);
  });
  it.each([
    [['--nope'], 'Unknown argument: nope'],
    [['--out'], '--out needs a folder'],
    [['--out', '--check'], '--out needs a folder, not the option --check'],
    [['--out', 'x.xml'], '--out needs a folder, not the file name x.xml'],
    [['--out='], '--out needs a folder, not an empty value'],
    [['--check=yes'], '--check takes no value'],
    [['--tag', '--check'], '--tag needs a value'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv, specs)).toThrow(UsageError);
    expect(() => parseArgs(argv, specs)).toThrow(message);
  });
});

describe('help layout', () => {
  it('wraps at word boundaries only, and keeps columns aligned', () => {
    expect(wrapWords('one two three four', 9)).toEqual(['one two', 'three', 'four']);
    expect(wrapWords('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
    const rows = columns([['-a', 'alpha beta gamma delta'], ['--longer', 'x']], 32);
    expect(rows).toEqual(['  -a        alpha beta gamma', '            delta', '  --longer  x']);
    const text = helpText({ usage: 'u', description: 'd', options: specs, notes: ['a note'] }, 60);
    expect(text).toMatch(/^Usage: u\n\nd\n\nOptions:\n {2}-o, --out VALUE/);
    expect(text.endsWith('\n\na note')).toBe(true);
  });
});
