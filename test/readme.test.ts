// README's examples compile as shown: the TypeScript blocks of "Writing device code" and "Putting objects on the wire", type-checked as one app.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typeCheck } from './generator/typecheck.js';

const ROOT = process.cwd();

/** The ```ts blocks of the README section with this heading. */
function blocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

it("README's device code and wire examples type-check as one app under the strictest settings", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const code = [...blocks(readme, 'Writing device code'), ...blocks(readme, 'Putting objects on the wire')];
  expect(code).toHaveLength(2);
  // At the repository root, so the example's './generated/device.js' is this repository's generated code.
  const file = join(ROOT, `.readme-example-${process.pid}.ts`);
  writeFileSync(file, `${code.join('\n')}\nexport {};\n`);
  try {
    expect(typeCheck([file])).toEqual([]);
  } finally {
    rmSync(file, { force: true });
  }
});
