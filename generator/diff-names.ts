// The names generated code exports (and the hooks and handlers apps define), keyed by what each stands for, to list a regeneration's renames.
import type { NamedObject } from './names.js';

/** One generated name: `key` says what it stands for, stable across versions (resource ids, enumeration values). */
export interface GeneratedName {
  readonly key: string;
  readonly name: string;
  /** Set for names that belong to one resource. */
  readonly resourceId?: number;
}

/** A name that changes between two versions: `new` is absent when nothing takes its place. */
export interface NameChange {
  readonly old: string;
  readonly new?: string;
}

/** Every name a device app can refer to for one object, in a stable order. */
export function generatedNames(o: NamedObject): GeneratedName[] {
  const out: GeneratedName[] = [
    { key: 'model', name: o.className },
    { key: 'base', name: o.baseClass },
    { key: 'resource-enum', name: o.resourceEnum },
    { key: 'values', name: o.valuesInterface },
  ];
  for (const r of o.resources) {
    const id = r.model.id;
    const add = (key: string, name: string | undefined) => {
      if (name !== undefined) out.push({ key: `${id}:${key}`, name, resourceId: id });
    };
    add('enum-member', `${o.resourceEnum}.${r.pascal}`);
    add(r.model.operations === 'E' ? 'handler' : 'member', r.member);
    add('onWrite', r.onWrite);
    add('onRead', r.onRead);
    add('literal-type', r.enumType);
    add('values-const', r.labels?.constName);
    for (const k of r.labels?.keys ?? []) add(`label:${String(k.member.value)}`, `${r.labels!.constName}.${k.key}`);
  }
  return out;
}

/**
 * The names that change from `before` to `after`, grouped by resource (undefined: the object's own names). Names of a
 * resource that exists in only one version are left out: its addition or removal is reported on its own.
 */
export function nameChanges(before: NamedObject, after: NamedObject): Map<number | undefined, NameChange[]> {
  const now = new Map(generatedNames(after).map((n) => [n.key, n.name]));
  const kept = new Set(after.resources.map((r) => r.model.id));
  const out = new Map<number | undefined, NameChange[]>();
  for (const n of generatedNames(before)) {
    if (n.resourceId !== undefined && !kept.has(n.resourceId)) continue;
    const next = now.get(n.key);
    if (next === n.name) continue;
    const list = out.get(n.resourceId) ?? [];
    list.push(next === undefined ? { old: n.name } : { old: n.name, new: next });
    out.set(n.resourceId, list);
  }
  return out;
}

/** `A → B, C (gone)` */
export function formatNameChanges(changes: readonly NameChange[]): string {
  return changes.map((c) => (c.new === undefined ? `${c.old} (gone)` : `${c.old} → ${c.new}`)).join(', ');
}
