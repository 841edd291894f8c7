// lwm2m-gen/testing sits on the runtime's public entry: it imports no runtime/ file directly, and nothing in runtime/ imports it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]!);
}

describe('testing/ layering', () => {
  it('imports the runtime only as lwm2m-gen/runtime (and the generator only for its naming)', () => {
    const outside = sources('testing').flatMap((f) => imports(f).map((i) => `${f}: ${i}`))
      .filter((l) => !/: (lwm2m-gen\/runtime|\.\/[\w-]+\.js|node:[\w/]+|\.\.\/generator\/names\.js)$/.test(l));
    expect(outside).toEqual([]);
  });

  it('is imported by nothing in runtime/', () => {
    const users = sources('runtime').filter((f) => imports(f).some((i) => i.includes('testing')));
    expect(users).toEqual([]);
  });
});
