// What ships: the package's files and the shipping build hold the generator, the runtime, lwm2m-gen/testing and the server, no test or example code.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const root = process.cwd();

function sourcesOf(tsconfig: string): string[] {
  const out = execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', tsconfig, '--listFilesOnly'], { encoding: 'utf8' });
  return out.split('\n').filter((f) => f !== '' && !f.includes('/node_modules/')).map((f) => relative(root, f));
}

describe('the package', () => {
  it('builds for shipping only generator/, runtime/, testing/ and server/', () => {
    const tops = new Set(sourcesOf('tsconfig.build.json').map((f) => f.split('/')[0]));
    expect([...tops].sort()).toEqual(['generator', 'runtime', 'server', 'testing']);
  });

  it('builds the examples without test code', () => {
    const files = sourcesOf('tsconfig.examples.json');
    expect(files.some((f) => f.startsWith('examples/'))).toBe(true);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('bench/'))).toEqual([]);
  });

  it('packs bin, templates, registry, the server page and dist/{generator,runtime,testing,server,cjs}, and exports lwm2m-gen/testing for import and require', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' })) as
      Array<{ files: Array<{ path: string }> }>;
    const paths = packed[0]!.files.map((f) => f.path);
    const outside = paths.filter((p) => !/^(bin\/|templates\/|registry\/|server\/ui\/|dist\/(generator|runtime|testing|server|cjs)\/|README\.md$|package\.json$)/.test(p));
    expect(outside).toEqual([]);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, Record<string, { default: string }>> };
    expect(pkg.exports['./testing']?.['import']?.default).toBe('./dist/testing/index.js');
    expect(pkg.exports['./testing']?.['require']?.default).toBe('./dist/cjs/testing/index.js');
    // The CommonJS copy holds only what ships (runtime, testing and the naming rules testing reads), no tests or examples.
    expect(paths.filter((p) => p.startsWith('dist/cjs/') && !/^dist\/cjs\/(runtime|testing|generator)\/|^dist\/cjs\/package\.json$/.test(p))).toEqual([]);
  });
});
