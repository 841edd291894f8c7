// DDF XML → ObjectModel with positions: tolerant of what real registry files do, strict about what makes no sense.
import type { ObjectModel, Operations, Range, ResourceModel, ResourceType } from '../runtime/model.js';
import { RESOURCE_TYPES } from '../runtime/model.js';
import { DiagnosticSink, type Diagnostic, type SourcePosition } from './diagnostics.js';
import { parseRange } from './range.js';
import { parseXml, type XmlElement } from './xml.js';

/** Where the parts of one object sit in its source file, for diagnostics after parsing. */
export interface ObjectSource {
  readonly file: string;
  readonly pos: SourcePosition;
  readonly fields: Readonly<Record<string, SourcePosition>>;
  readonly resources: ReadonlyMap<number, { readonly pos: SourcePosition; readonly fields: Readonly<Record<string, SourcePosition>> }>;
}

export interface ParsedObject {
  readonly model: ObjectModel;
  readonly source: ObjectSource;
  /** The id exactly as written, for rules on it (it may be out of 16-bit range). */
  readonly rawId: number;
}

export interface ParseResult {
  readonly objects: ParsedObject[];
  readonly diagnostics: Diagnostic[];
}

const OBJECT_ORDER = ['Name', 'Description1', 'ObjectID', 'ObjectURN', 'LWM2MVersion', 'ObjectVersion', 'MultipleInstances', 'Mandatory', 'Resources', 'Description2'];
const ITEM_ORDER = ['Name', 'Operations', 'MultipleInstances', 'Mandatory', 'Type', 'RangeEnumeration', 'Units', 'Description'];
const OPERATIONS = new Set(['', 'R', 'W', 'RW', 'E']);

/** Text of an element with the registry's whitespace habits undone: trimmed, NBSP as space. */
function clean(s: string): string {
  return s.replace(/\u00a0/g, ' ').trim();
}

class Fields {
  readonly byName = new Map<string, XmlElement>();
  readonly positions: Record<string, SourcePosition> = {};
  constructor(el: XmlElement, order: readonly string[], sink: DiagnosticSink, what: string) {
    let last = -1;
    let warnedOrder = false;
    for (const c of el.children) {
      if (this.byName.has(c.name)) {
        sink.error('ddf-duplicate-element', `<${c.name}> appears twice in ${what}`, c.pos);
        continue;
      }
      this.byName.set(c.name, c);
      this.positions[c.name] = c.pos;
      const i = order.indexOf(c.name);
      if (i < 0) {
        sink.warning('ddf-unknown-element', `unknown element <${c.name}> in ${what} is ignored`, c.pos);
      } else if (i < last && !warnedOrder) {
        sink.warning('ddf-schema-order', `<${c.name}> comes after <${order[last]}>; the schema orders them the other way (accepted)`, c.pos);
        warnedOrder = true;
      } else last = Math.max(last, i);
    }
  }
  text(name: string): string | undefined {
    const e = this.byName.get(name);
    return e ? clean(e.text) : undefined;
  }
  raw(name: string): string | undefined {
    return this.byName.get(name)?.text;
  }
}

function parseMultiple(v: string | undefined, sink: DiagnosticSink, at: SourcePosition, what: string): boolean {
  if (v === 'Multiple') return true;
  if (v === 'Single') return false;
  sink.error('ddf-multiple-instances', `${what}: MultipleInstances must be "Single" or "Multiple", not ${JSON.stringify(v ?? '')}`, at);
  return false;
}

function parseMandatory(v: string | undefined, sink: DiagnosticSink, at: SourcePosition, what: string): boolean {
  if (v === 'Mandatory') return true;
  if (v === 'Optional') return false;
  sink.error('ddf-mandatory', `${what}: Mandatory must be "Mandatory" or "Optional", not ${JSON.stringify(v ?? '')}`, at);
  return false;
}

function parseId(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

function parseItem(item: XmlElement, objectName: string, sink: DiagnosticSink): { model: ResourceModel; fields: Record<string, SourcePosition> } | undefined {
  const idText = item.attributes['ID'];
  const id = parseId(idText?.trim());
  if (id === undefined) {
    sink.error('resource-id', `resource <Item> needs a numeric ID attribute, found ${JSON.stringify(idText ?? '')}`, item.pos);
    return undefined;
  }
  const what = `resource ${id}`;
  const f = new Fields(item, ITEM_ORDER, sink, what);
  const at = (n: string) => f.positions[n] ?? item.pos;
  for (const required of ['Name', 'Operations', 'MultipleInstances', 'Mandatory']) {
    if (!f.byName.has(required)) sink.error('ddf-missing-element', `${what} has no <${required}>`, item.pos);
  }
  const name = f.text('Name') ?? '';
  if (f.byName.has('Name') && name === '') sink.error('ddf-missing-element', `${what} has an empty <Name>`, at('Name'));
  const ops = (f.text('Operations') ?? '').toUpperCase();
  let operations: Operations = '';
  // Unknown operations are one error: what they would imply about the type is not guessed at.
  const opsKnown = OPERATIONS.has(ops);
  if (opsKnown) operations = ops as Operations;
  else sink.error('resource-operations', `${what}: Operations must be R, W, RW, E or empty, not ${JSON.stringify(f.text('Operations'))}`, at('Operations'));

  const typeText = f.text('Type') ?? '';
  let type: ResourceType;
  if (operations === 'E') {
    if (typeText !== '' && typeText.toLowerCase() !== 'none') {
      sink.warning('resource-executable-type', `${what} is executable but declares type ${typeText}; executables carry no value, the type is ignored`, at('Type'));
    }
    type = 'none';
  } else if (typeText === '') {
    if (opsKnown) sink.warning('resource-type-missing', `${what} has ${operations ? `operations ${operations}` : 'no operations'} but no type; treated as Opaque`, at('Type'));
    type = 'Opaque';
  } else {
    const known = RESOURCE_TYPES.find((t) => t.toLowerCase() === typeText.toLowerCase());
    if (!known || known === 'none') {
      sink.error('resource-type', `${what}: unknown type ${JSON.stringify(typeText)} (expected one of ${RESOURCE_TYPES.filter((t) => t !== 'none').join(', ')})`, at('Type'));
      type = 'Opaque';
    } else type = known;
  }
  if (!f.byName.has('Type') && operations !== 'E' && opsKnown) sink.warning('ddf-missing-element', `${what} has no <Type>`, item.pos);
  if (!f.byName.has('RangeEnumeration')) sink.warning('ddf-missing-element', `${what} has no <RangeEnumeration> (accepted as empty)`, item.pos);

  const multiple = parseMultiple(f.text('MultipleInstances'), sink, at('MultipleInstances'), what);
  const mandatory = parseMandatory(f.text('Mandatory'), sink, at('Mandatory'), what);
  let range: Range | undefined;
  const rangeText = f.raw('RangeEnumeration');
  if (rangeText !== undefined) {
    const r = parseRange(rangeText, type);
    if (r.problem) sink.warning(r.problem.rule, `${what}: ${r.problem.message}`, at('RangeEnumeration'));
    range = r.range;
  }
  const units = f.text('Units');
  const description = f.text('Description');
  const model: ResourceModel = {
    id,
    name,
    operations,
    type,
    multiple,
    mandatory,
    ...(range ? { range } : {}),
    ...(units ? { units } : {}),
    ...(description ? { description } : {}),
  };
  void objectName;
  return { model, fields: f.positions };
}

function parseObject(el: XmlElement, file: string, sink: DiagnosticSink): ParsedObject | undefined {
  const f = new Fields(el, OBJECT_ORDER, sink, 'the object');
  const at = (n: string) => f.positions[n] ?? el.pos;
  for (const required of ['Name', 'ObjectID', 'ObjectURN', 'MultipleInstances', 'Mandatory', 'Resources']) {
    if (!f.byName.has(required)) {
      (required === 'ObjectURN' ? sink.warning.bind(sink) : sink.error.bind(sink))('ddf-missing-element', `the object has no <${required}>`, el.pos);
    }
  }
  const idText = f.text('ObjectID');
  const rawId = parseId(idText);
  if (f.byName.has('ObjectID') && rawId === undefined) {
    sink.error('object-id', `ObjectID must be a whole number, not ${JSON.stringify(idText)}`, at('ObjectID'));
  }
  const id = rawId ?? -1;
  const name = f.text('Name') ?? '';
  if (f.byName.has('Name') && name === '') sink.error('ddf-missing-element', 'the object has an empty <Name>', at('Name'));
  const multiple = parseMultiple(f.text('MultipleInstances'), sink, at('MultipleInstances'), 'the object');
  const mandatory = parseMandatory(f.text('Mandatory'), sink, at('Mandatory'), 'the object');
  const resources: ResourceModel[] = [];
  const resourcePositions = new Map<number, { pos: SourcePosition; fields: Record<string, SourcePosition> }>();
  const resEl = f.byName.get('Resources');
  for (const item of resEl?.children ?? []) {
    if (item.name !== 'Item') {
      sink.warning('ddf-unknown-element', `unknown element <${item.name}> in <Resources> is ignored`, item.pos);
      continue;
    }
    const parsed = parseItem(item, name, sink);
    if (!parsed) continue;
    if (resourcePositions.has(parsed.model.id)) {
      const first = resourcePositions.get(parsed.model.id)!.pos;
      sink.error('resource-id-duplicate', `resource id ${parsed.model.id} is defined twice (first at line ${first.line})`, item.pos);
      continue;
    }
    resourcePositions.set(parsed.model.id, { pos: item.pos, fields: parsed.fields });
    resources.push(parsed.model);
  }
  resources.sort((a, b) => a.id - b.id);
  const description = [f.text('Description1'), f.text('Description2')].filter((d) => d).join('\n\n');
  const model: ObjectModel = {
    id,
    name,
    urn: f.text('ObjectURN') ?? '',
    objectVersion: f.text('ObjectVersion') || '1.0',
    lwm2mVersion: f.text('LWM2MVersion') || '1.0',
    multiple,
    mandatory,
    resources,
    ...(description ? { description } : {}),
  };
  return { model, rawId: id, source: { file, pos: el.pos, fields: f.positions, resources: resourcePositions } };
}

/** Parses one DDF file's text. Objects with errors are still returned, so later rules can report more. */
export function parseDdf(text: string, file: string): ParseResult {
  const sink = new DiagnosticSink(file);
  const root = parseXml(text, sink);
  const objects: ParsedObject[] = [];
  if (root) {
    if (root.name !== 'LWM2M') {
      sink.error('ddf-root', `the root element is <${root.name}>; a DDF file has <LWM2M>`, root.pos);
    } else {
      const objs = root.children.filter((c) => c.name === 'Object');
      if (objs.length === 0) sink.error('ddf-missing-element', 'the <LWM2M> element holds no <Object>', root.pos);
      for (const c of root.children) {
        if (c.name !== 'Object') sink.warning('ddf-unknown-element', `unknown element <${c.name}> in <LWM2M> is ignored`, c.pos);
      }
      for (const o of objs) {
        const p = parseObject(o, file, sink);
        if (p) objects.push(p);
      }
    }
  }
  return { objects, diagnostics: sink.items };
}
