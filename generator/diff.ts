// Compares two versions of LwM2M object definitions and classifies every change by whom it breaks: the device app, the server, or nobody.
import type { Operations, ResourceModel } from '../runtime/model.js';
import type { SourcePosition } from './diagnostics.js';
import { formatNameChanges, nameChanges, type NameChange } from './diff-names.js';
import { nameObjects, type NamedObject, type NamedResource } from './names.js';
import type { ParsedObject } from './parse.js';
import { compareRanges, rangeText } from './range-set.js';

export { compareRanges, type RangeChange } from './range-set.js';

/**
 * breaking-device: a device app that extends the generated classes stops compiling or starts failing at run time;
 * breaking-server: a server that uses the object as it was stops working against a device on the new version;
 * compatible: neither. The table of which change is which lives in docs/safe-regeneration.md.
 */
export type Impact = 'breaking-device' | 'breaking-server' | 'compatible';

export type ChangeKind =
  | 'object-added' | 'object-removed' | 'object-version' | 'object-lwm2m-version' | 'object-urn' | 'object-renamed'
  | 'object-multiple' | 'object-mandatory'
  | 'resource-added' | 'resource-removed' | 'resource-renamed' | 'resource-operations' | 'resource-type'
  | 'resource-multiple' | 'resource-mandatory' | 'resource-range' | 'resource-enum-labels' | 'resource-units'
  /** Generated names that change (exports, enum constants, literal types, hooks and handlers), with their new names. */
  | 'names-changed';


export interface Change {
  readonly kind: ChangeKind;
  /** Empty for compatible changes; otherwise whom it breaks, device first. */
  readonly breaks: readonly ('device' | 'server')[];
  /** The most severe impact: breaking-device, then breaking-server, then compatible. */
  readonly impact: Impact;
  readonly objectId: number;
  readonly resourceId?: number;
  /** `/3` or `/3/x/9`, the way generated docs name paths. */
  readonly path: string;
  readonly old?: string;
  readonly new?: string;
  /** For names-changed: every generated name that changes, and what replaces it (absent when nothing does). */
  readonly names?: readonly NameChange[];
  readonly message: string;
  /** Where the new definition is (the old one for removals). */
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface DiffResult {
  readonly changes: readonly Change[];
  readonly breakingDevice: number;
  readonly breakingServer: number;
  readonly compatible: number;
}

function labelsOf(r: ResourceModel): Map<string, string> {
  const m = new Map<string, string>();
  if (r.range?.kind === 'enum') for (const e of r.range.members) if (e.label !== undefined) m.set(String(e.value), e.label);
  return m;
}

// ---------------------------------------------------------------------------------------------------------------

const OPS: Record<Operations, string> = { '': '', R: 'R', W: 'W', RW: 'RW', E: 'E' };
const opSet = (o: Operations): Set<string> => new Set(o.split(''));

interface Site { readonly file: string; readonly pos: SourcePosition }

function siteOf(p: ParsedObject, resourceId?: number, field?: string): Site {
  if (resourceId === undefined) {
    const pos = (field !== undefined ? p.source.fields[field] : undefined) ?? p.source.pos;
    return { file: p.source.file, pos };
  }
  const r = p.source.resources.get(resourceId);
  const pos = (field !== undefined ? r?.fields[field] : undefined) ?? r?.pos ?? p.source.pos;
  return { file: p.source.file, pos };
}

function impactOf(breaks: readonly ('device' | 'server')[]): Impact {
  return breaks.includes('device') ? 'breaking-device' : breaks.includes('server') ? 'breaking-server' : 'compatible';
}

class Collector {
  readonly changes: Change[] = [];
  add(c: { kind: ChangeKind; breaks: ('device' | 'server')[]; objectId: number; resourceId?: number; old?: string; new?: string; names?: NameChange[]; message: string; site: Site }): void {
    const breaks = (['device', 'server'] as const).filter((b) => c.breaks.includes(b));
    const change: Change = {
      kind: c.kind,
      breaks,
      impact: impactOf(breaks),
      objectId: c.objectId,
      ...(c.resourceId !== undefined ? { resourceId: c.resourceId } : {}),
      path: c.resourceId !== undefined ? `/${c.objectId}/x/${c.resourceId}` : `/${c.objectId}`,
      ...(c.old !== undefined ? { old: c.old } : {}),
      ...(c.new !== undefined ? { new: c.new } : {}),
      ...(c.names !== undefined ? { names: c.names } : {}),
      message: c.message,
      file: c.site.file,
      line: c.site.pos.line,
      col: c.site.pos.col,
    };
    this.changes.push(change);
  }
}

function major(v: string): string {
  return v.split('.')[0] ?? v;
}

function hooksOf(n: NamedResource): string[] {
  return [n.member, n.onWrite, n.onRead].filter((x): x is string => x !== undefined);
}

function diffResource(out: Collector, objectId: number, oldP: ParsedObject, newP: ParsedObject, o: NamedResource, n: NamedResource): void {
  const a = o.model;
  const b = n.model;
  const at = (field?: string) => siteOf(newP, b.id, field);
  const base = { objectId, resourceId: b.id };
  const label = `${b.name} (${b.id})`;

  if (a.name !== b.name) {
    const memberChanged = hooksOf(o).join() !== hooksOf(n).join();
    out.add({
      ...base, kind: 'resource-renamed', breaks: memberChanged ? ['device'] : [], old: a.name, new: b.name, site: at('Name'),
      message: memberChanged
        ? `resource ${b.id} renamed "${a.name}" → "${b.name}": member ${o.member} is now ${n.member}${o.onWrite && n.onWrite ? `, ${o.onWrite} is now ${n.onWrite}` : ''}${o.onRead && n.onRead ? `, ${o.onRead} is now ${n.onRead}` : ''}`
        : `resource ${b.id} renamed "${a.name}" → "${b.name}"; generated member names stay the same`,
    });
  }
  if (a.operations !== b.operations) {
    const before = opSet(a.operations);
    const after = opSet(b.operations);
    const lost = [...before].filter((x) => !after.has(x));
    const gained = [...after].filter((x) => !before.has(x));
    const breaks: ('device' | 'server')[] = [];
    // A lost operation fails the server's requests; a lost R or W also removes a hook the app may override,
    // and value ↔ executable replaces the member altogether.
    if (lost.length > 0) breaks.push('server');
    if (lost.includes('R') || lost.includes('W') || before.has('E') !== after.has('E')) breaks.push('device');
    const what = b.operations === 'R' && before.has('W') ? ' (now read-only)' : '';
    out.add({
      ...base, kind: 'resource-operations', breaks, old: OPS[a.operations], new: OPS[b.operations], site: at('Operations'),
      message: `${label}: operations ${a.operations || 'none'} → ${b.operations || 'none'}${what}${lost.length ? `; lost ${lost.join('')}` : ''}${gained.length ? `; gained ${gained.join('')}` : ''}`,
    });
  }
  const bothValues = a.operations !== 'E' && b.operations !== 'E';
  if (a.type !== b.type && bothValues) {
    out.add({ ...base, kind: 'resource-type', breaks: ['device', 'server'], old: a.type, new: b.type, site: at('Type'), message: `${label}: type ${a.type} → ${b.type}` });
  }
  if (a.multiple !== b.multiple) {
    out.add({
      ...base, kind: 'resource-multiple', breaks: ['device', 'server'], old: a.multiple ? 'Multiple' : 'Single', new: b.multiple ? 'Multiple' : 'Single', site: at('MultipleInstances'),
      message: `${label}: ${a.multiple ? 'multiple' : 'single'} → ${b.multiple ? 'multiple' : 'single'} instance${b.multiple ? ' (the member becomes a Map by resource instance id)' : ' (the member is no longer a Map)'}`,
    });
  }
  if (a.mandatory !== b.mandatory) {
    const exec = b.operations === 'E';
    out.add({
      ...base, kind: 'resource-mandatory', breaks: b.mandatory ? ['device'] : ['server'], old: a.mandatory ? 'Mandatory' : 'Optional', new: b.mandatory ? 'Mandatory' : 'Optional', site: at('Mandatory'),
      message: b.mandatory
        ? `${label}: optional → mandatory; ${exec ? `the execute handler ${n.member}() becomes abstract and must be implemented` : `the device must always provide ${n.member}`}`
        : `${label}: mandatory → optional; servers can no longer rely on it being present`,
    });
  }
  if (bothValues && a.type === b.type) {
    const rc = compareRanges(a, b);
    if (rc !== 'same') {
      const writable = b.operations.includes('W') && a.operations.includes('W');
      const breaks: ('device' | 'server')[] = [];
      // Narrowing refuses values the app used to set (and, when writable, values the server used to write).
      if (rc === 'narrowed' || rc === 'changed') breaks.push('device');
      if ((rc === 'narrowed' || rc === 'changed') && writable) breaks.push('server');
      out.add({
        ...base, kind: 'resource-range', breaks, old: rangeText(a.range) || '(none)', new: rangeText(b.range) || '(none)', site: at('RangeEnumeration'),
        message: `${label}: range ${rc} ${rangeText(a.range) || '(none)'} → ${rangeText(b.range) || '(none)'}`,
      });
    }
    const la = labelsOf(a);
    const lb = labelsOf(b);
    const lostLabels = [...la].filter(([v, l]) => lb.get(v) !== l);
    const newLabels = [...lb].filter(([v, l]) => la.get(v) !== l);
    if (lostLabels.length > 0 || newLabels.length > 0) {
      out.add({
        ...base, kind: 'resource-enum-labels', breaks: lostLabels.length > 0 ? ['device'] : [], site: at('RangeEnumeration'),
        message: `${label}: enumeration labels ${lostLabels.length ? `removed or renamed: ${lostLabels.map(([v, l]) => `${v}: ${l}${lb.has(v) ? ` → ${lb.get(v)}` : ''}`).join(', ')}` : ''}${lostLabels.length && newLabels.length ? '; ' : ''}${newLabels.filter(([v]) => !la.has(v)).length ? `added: ${newLabels.filter(([v]) => !la.has(v)).map(([v, l]) => `${v}: ${l}`).join(', ')}` : ''}`.replace(/ $/, ''),
      });
    }
  }
  if ((a.units ?? '') !== (b.units ?? '')) {
    // A unit that changes (not one added or dropped) changes what every number means on both sides.
    const changed = (a.units ?? '') !== '' && (b.units ?? '') !== '';
    out.add({
      ...base, kind: 'resource-units', breaks: changed ? ['device', 'server'] : [], old: a.units ?? '', new: b.units ?? '', site: at('Units'),
      message: `${label}: units ${JSON.stringify(a.units ?? '')} → ${JSON.stringify(b.units ?? '')}${changed ? '; values must be converted' : ''}`,
    });
  }
}

function diffObject(out: Collector, oldP: ParsedObject, newP: ParsedObject, oldN: NamedObject, newN: NamedObject): void {
  const a = oldP.model;
  const b = newP.model;
  const id = b.id;
  if (a.name !== b.name) {
    const classChanged = oldN.baseClass !== newN.baseClass;
    out.add({ objectId: id, kind: 'object-renamed', breaks: classChanged ? ['device'] : [], old: a.name, new: b.name, site: siteOf(newP, undefined, 'Name'),
      message: `object ${id} renamed "${a.name}" → "${b.name}"${classChanged ? `: ${oldN.baseClass} is now ${newN.baseClass}, ${oldN.className} is now ${newN.className}` : ''}` });
  }
  if (a.objectVersion !== b.objectVersion) {
    const majorChange = major(a.objectVersion) !== major(b.objectVersion);
    out.add({ objectId: id, kind: 'object-version', breaks: majorChange ? ['device', 'server'] : [], old: a.objectVersion, new: b.objectVersion, site: siteOf(newP, undefined, 'ObjectVersion'),
      message: `${b.name} (${id}): object version ${a.objectVersion} → ${b.objectVersion}${majorChange ? ' (a new major version promises no compatibility)' : ''}` });
  }
  if (a.urn !== b.urn) {
    out.add({ objectId: id, kind: 'object-urn', breaks: [], old: a.urn, new: b.urn, site: siteOf(newP, undefined, 'ObjectURN'), message: `${b.name} (${id}): URN ${a.urn} → ${b.urn}` });
  }
  if (a.lwm2mVersion !== b.lwm2mVersion) {
    out.add({ objectId: id, kind: 'object-lwm2m-version', breaks: [], old: a.lwm2mVersion, new: b.lwm2mVersion, site: siteOf(newP, undefined, 'LWM2MVersion'), message: `${b.name} (${id}): LwM2M version ${a.lwm2mVersion} → ${b.lwm2mVersion}` });
  }
  if (a.multiple !== b.multiple) {
    out.add({ objectId: id, kind: 'object-multiple', breaks: ['server'], old: a.multiple ? 'Multiple' : 'Single', new: b.multiple ? 'Multiple' : 'Single', site: siteOf(newP, undefined, 'MultipleInstances'),
      message: `${b.name} (${id}): ${a.multiple ? 'multiple' : 'single'} → ${b.multiple ? 'multiple' : 'single'} instance object` });
  }
  if (a.mandatory !== b.mandatory) {
    out.add({ objectId: id, kind: 'object-mandatory', breaks: b.mandatory ? ['device'] : ['server'], old: a.mandatory ? 'Mandatory' : 'Optional', new: b.mandatory ? 'Mandatory' : 'Optional', site: siteOf(newP, undefined, 'Mandatory'),
      message: `${b.name} (${id}): object ${b.mandatory ? 'optional → mandatory; every device must now provide an instance' : 'mandatory → optional; servers can no longer rely on it'}` });
  }
  // Every generated name that changes: an app referring to the old one stops compiling, so it is breaking-device.
  for (const [rid, names] of [...nameChanges(oldN, newN)].sort(([x], [y]) => (x ?? -1) - (y ?? -1))) {
    out.add({
      objectId: id, ...(rid !== undefined ? { resourceId: rid } : {}), kind: 'names-changed', breaks: ['device'], names,
      site: siteOf(newP, rid, 'Name'),
      message: `${rid === undefined ? `${b.name} (${id})` : `${b.resources.find((r) => r.id === rid)?.name ?? rid} (${rid})`}: generated names change: ${formatNameChanges(names)}`,
    });
  }
  const oldRes = new Map(oldN.resources.map((r) => [r.model.id, r]));
  const newRes = new Map(newN.resources.map((r) => [r.model.id, r]));
  const ids = [...new Set([...oldRes.keys(), ...newRes.keys()])].sort((x, y) => x - y);
  for (const rid of ids) {
    const o = oldRes.get(rid);
    const n = newRes.get(rid);
    if (o && n) diffResource(out, id, oldP, newP, o, n);
    else if (n) {
      const r = n.model;
      const exec = r.operations === 'E';
      out.add({ objectId: id, resourceId: rid, kind: 'resource-added', breaks: r.mandatory ? ['device'] : [], new: r.name, site: siteOf(newP, rid),
        message: `${b.name} (${id}): ${r.mandatory ? 'mandatory' : 'optional'} resource ${rid} "${r.name}" added${r.mandatory ? (exec ? `; implement the new abstract execute handler ${n.member}()` : `; the device must provide ${n.member}`) : ''}` });
    } else if (o) {
      out.add({ objectId: id, resourceId: rid, kind: 'resource-removed', breaks: ['device', 'server'], old: o.model.name, site: siteOf(oldP, rid),
        message: `${a.name} (${id}): resource ${rid} "${o.model.name}" removed (member ${o.member}${o.onWrite ? `, ${o.onWrite}` : ''}${o.onRead ? `, ${o.onRead}` : ''} gone)` });
    }
  }
}

/** Compares two sets of parsed objects, matched by object id; changes come out sorted by object, resource and kind. */
export function diffObjects(oldObjects: readonly ParsedObject[], newObjects: readonly ParsedObject[]): DiffResult {
  const out = new Collector();
  const oldNamed = new Map(nameObjects(oldObjects.map((o) => o.model)).map((n) => [n.model.id, n]));
  const newNamed = new Map(nameObjects(newObjects.map((o) => o.model)).map((n) => [n.model.id, n]));
  const oldById = new Map(oldObjects.map((o) => [o.model.id, o]));
  const newById = new Map(newObjects.map((o) => [o.model.id, o]));
  const ids = [...new Set([...oldById.keys(), ...newById.keys()])].sort((x, y) => x - y);
  for (const id of ids) {
    const a = oldById.get(id);
    const b = newById.get(id);
    if (a && b) diffObject(out, a, b, oldNamed.get(id)!, newNamed.get(id)!);
    else if (b) {
      out.add({ objectId: id, kind: 'object-added', breaks: b.model.mandatory ? ['device'] : [], new: b.model.name, site: siteOf(b),
        message: `object ${id} "${b.model.name}" added${b.model.mandatory ? ' as mandatory; every device must provide it' : ''}` });
    } else if (a) {
      out.add({ objectId: id, kind: 'object-removed', breaks: ['device', 'server'], old: a.model.name, site: siteOf(a), message: `object ${id} "${a.model.name}" removed` });
    }
  }
  const changes = out.changes;
  return {
    changes,
    breakingDevice: changes.filter((c) => c.breaks.includes('device')).length,
    breakingServer: changes.filter((c) => c.breaks.includes('server')).length,
    compatible: changes.filter((c) => c.breaks.length === 0).length,
  };
}

/** One line per change: `file:line:col: breaking-device+breaking-server: /3/x/9 message [kind]`. */
export function formatChange(c: Change): string {
  const impact = c.breaks.length ? c.breaks.map((b) => `breaking-${b}`).join('+') : 'compatible';
  return `${c.file}:${c.line}:${c.col}: ${impact}: ${c.path} ${c.message} [${c.kind}]`;
}
