// Rename suggestions for members a regeneration removed: exact renames from the previous version, else the closest name.
import type { ObjectModel } from '../runtime/model.js';
import type { GeneratedBase, Role } from './extensions-ast.js';
import { nameObjects } from './names.js';

export type PreviousNames = ReadonlyMap<number, ReadonlyMap<string, { resourceId: number; role: Role; resourceName: string }>>;

export function previousNames(models: readonly ObjectModel[] | undefined): PreviousNames | undefined {
  if (!models) return undefined;
  const out = new Map<number, Map<string, { resourceId: number; role: Role; resourceName: string }>>();
  for (const o of nameObjects(models)) {
    const m = new Map<string, { resourceId: number; role: Role; resourceName: string }>();
    for (const r of o.resources) {
      const roles: Array<[Role, string | undefined]> = [
        [r.model.operations === 'E' ? 'execute' : 'property', r.member], ['onWrite', r.onWrite], ['onRead', r.onRead],
      ];
      for (const [role, name] of roles) if (name !== undefined) m.set(name, { resourceId: r.model.id, role, resourceName: r.model.name });
    }
    out.set(o.model.id, m);
  }
  return out;
}

function words(name: string): string[] {
  return name.replace(/^on(Write|Read)/, '').split(/(?=[A-Z])|_|(?<=[a-z])(?=[0-9])/).map((w) => w.toLowerCase()).filter((w) => w !== '');
}

/** The current member with the same role whose name shares most words with `name`, if it shares at least half. */
export function closest(name: string, role: Role, base: GeneratedBase): string | undefined {
  const want = words(name);
  let best: { name: string; score: number } | undefined;
  for (const [m, info] of base.byMember) {
    if (info.role !== role) continue;
    const have = words(m);
    const common = want.filter((w) => have.includes(w)).length;
    const score = common / Math.max(want.length, have.length);
    if (score >= 0.5 && (!best || score > best.score)) best = { name: m, score };
  }
  return best?.name;
}

export function roleOfName(name: string, isExecuteLike: boolean): Role {
  if (/^onWrite[A-Z0-9_]/.test(name)) return 'onWrite';
  if (/^onRead[A-Z0-9_]/.test(name)) return 'onRead';
  return isExecuteLike ? 'execute' : 'property';
}
