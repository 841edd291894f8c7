// Test helpers for the generator: inline DDF documents and temporary folders inside the repository.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../generator/cli.js';

export interface ItemSpec {
  id: number;
  name?: string;
  ops?: string;
  multiple?: boolean;
  mandatory?: boolean;
  type?: string;
  range?: string;
  units?: string;
  description?: string;
}

export function item(s: ItemSpec): string {
  return `<Item ID="${s.id}"><Name>${s.name ?? `Res ${s.id}`}</Name><Operations>${s.ops ?? 'R'}</Operations>
<MultipleInstances>${s.multiple ? 'Multiple' : 'Single'}</MultipleInstances><Mandatory>${s.mandatory ? 'Mandatory' : 'Optional'}</Mandatory>
<Type>${s.type ?? (s.ops === 'E' ? '' : 'Integer')}</Type><RangeEnumeration>${s.range ?? ''}</RangeEnumeration><Units>${s.units ?? ''}</Units>
<Description>${s.description ?? ''}</Description></Item>`;
}

export function ddf(o: { id?: number; name?: string; urn?: string; version?: string; items?: string[]; multiple?: boolean } = {}): string {
  const id = o.id ?? 26242;
  const version = o.version ?? '1.0';
  const urn = o.urn ?? `urn:oma:lwm2m:x:${id}${version === '1.0' ? '' : `:${version}`}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M>
<Object ObjectType="MODefinition">
<Name>${o.name ?? 'Test Object'}</Name>
<Description1>A test object.</Description1>
<ObjectID>${id}</ObjectID>
<ObjectURN>${urn}</ObjectURN>
<LWM2MVersion>1.1</LWM2MVersion>
<ObjectVersion>${version}</ObjectVersion>
<MultipleInstances>${o.multiple ? 'Multiple' : 'Single'}</MultipleInstances>
<Mandatory>Optional</Mandatory>
<Resources>
${(o.items ?? [item({ id: 0 })]).join('\n')}
</Resources>
</Object>
</LWM2M>
`;
}

/** A temporary folder under test/ (so generated code resolves the repo's node_modules), removed by cleanup(). */
export function tempDir(prefix: string): { dir: string; write(name: string, text: string | Buffer): string; cleanup(): void } {
  const root = join(process.cwd(), 'test', '.tmp');
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, `${prefix}-`));
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the CLI in-process and captures its output. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}
