// Semantic rules over parsed objects, each with a stable id: object ids and URNs, versions, resource ids, duplicates across files.
import type { ObjectModel } from '../runtime/model.js';
import type { Diagnostic, SourcePosition } from './diagnostics.js';
import { toCamel } from './names.js';
import type { ParsedObject } from './parse.js';

/** The registry's object id classes and the URN label each must carry. */
export function urnLabelFor(id: number): 'oma' | 'ext' | 'x' | undefined {
  if (id >= 0 && id <= 1023) return 'oma';
  if (id >= 2048 && id <= 10240) return 'ext';
  if (id >= 10241 && id <= 32768) return 'x';
  return undefined;
}

const URN = /^urn:oma:lwm2m:(oma|ext|x):(\d+)(?::(\d+\.\d+))?$/;
const VERSION = /^\d+\.\d+$/;

/** The URN an object gets when its DDF has none: label by id class, version when not 1.0. */
export function defaultUrn(m: ObjectModel): string {
  const label = urnLabelFor(m.id) ?? 'x';
  return `urn:oma:lwm2m:${label}:${m.id}${m.objectVersion !== '1.0' ? `:${m.objectVersion}` : ''}`;
}

export function validateObject(p: ParsedObject): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { model: m, source } = p;
  const at = (field: string): SourcePosition => source.fields[field] ?? source.pos;
  const push = (severity: 'error' | 'warning', rule: string, message: string, pos: SourcePosition) =>
    out.push({ file: source.file, line: pos.line, col: pos.col, severity, rule, message });

  if (p.rawId >= 0) {
    if (p.rawId > 65534) push('error', 'object-id-range', `object id ${p.rawId} is not a 16-bit id below 65535`, at('ObjectID'));
    else if (urnLabelFor(p.rawId) === undefined) {
      push('error', 'object-id-reserved', `object id ${p.rawId} lies in a range the registry reserves (1024-2047, 32769-65534); use 26241-32768 for private objects`, at('ObjectID'));
    }
  }
  if (m.urn !== '') {
    const u = URN.exec(m.urn);
    if (!u) {
      push('error', 'urn-format', `ObjectURN "${m.urn}" is not urn:oma:lwm2m:{oma|ext|x}:ID[:VERSION]`, at('ObjectURN'));
    } else {
      const expected = urnLabelFor(m.id);
      if (expected && u[1] !== expected) {
        push('error', 'urn-label', `ObjectURN label "${u[1]}" does not match object id ${m.id}, which takes "${expected}"`, at('ObjectURN'));
      }
      if (Number(u[2]) !== m.id) push('error', 'urn-id', `ObjectURN names object ${u[2]} but ObjectID is ${m.id}`, at('ObjectURN'));
      if (u[3] !== undefined && u[3] !== m.objectVersion) {
        push('warning', 'urn-version', `ObjectURN version ${u[3]} differs from ObjectVersion ${m.objectVersion}`, at('ObjectURN'));
      } else if (u[3] === undefined && m.objectVersion !== '1.0') {
        push('warning', 'urn-version', `ObjectURN has no version but ObjectVersion is ${m.objectVersion}`, at('ObjectURN'));
      }
    }
  }
  if (!VERSION.test(m.objectVersion)) push('error', 'version-format', `ObjectVersion "${m.objectVersion}" is not MAJOR.MINOR`, at('ObjectVersion'));
  if (!VERSION.test(m.lwm2mVersion)) push('error', 'version-format', `LWM2MVersion "${m.lwm2mVersion}" is not MAJOR.MINOR`, at('LWM2MVersion'));
  for (const r of m.resources) {
    if (r.id > 65535) push('error', 'resource-id-range', `resource id ${r.id} is not a 16-bit id`, source.resources.get(r.id)?.pos ?? source.pos);
  }
  // Two resources whose names make one member: the naming rules settle it (lowest id keeps the name), but say so.
  const byMember = new Map<string, (typeof m.resources)[number]>();
  for (const r of [...m.resources].sort((a, b) => a.id - b.id)) {
    const member = toCamel(r.name);
    const first = byMember.get(member);
    if (member === '') continue;
    if (!first) {
      byMember.set(member, r);
      continue;
    }
    const pos = source.resources.get(r.id)?.fields['Name'] ?? source.resources.get(r.id)?.pos ?? source.pos;
    const firstPos = source.resources.get(first.id)?.fields['Name'] ?? source.resources.get(first.id)?.pos ?? source.pos;
    push('warning', 'resource-name-duplicate',
      `resource ${r.id} "${r.name}" and resource ${first.id} "${first.name}" (line ${firstPos.line}) make the same member name ${member}; resource ${first.id} keeps it, resource ${r.id} becomes ${member}_${r.id}`, pos);
  }
  return out;
}

/** Object ids must be unique across the files of one run; both places are named. */
export function validateUniqueObjects(objects: readonly ParsedObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<number, ParsedObject>();
  for (const p of objects) {
    if (p.model.id < 0) continue;
    const first = seen.get(p.model.id);
    if (!first) {
      seen.set(p.model.id, p);
      continue;
    }
    const pos = p.source.fields['ObjectID'] ?? p.source.pos;
    const firstPos = first.source.fields['ObjectID'] ?? first.source.pos;
    out.push({
      file: p.source.file, line: pos.line, col: pos.col, severity: 'error', rule: 'object-id-duplicate',
      message: `object id ${p.model.id} ("${p.model.name}") is also defined in ${first.source.file}:${firstPos.line} ("${first.model.name}")`,
    });
  }
  return out;
}
