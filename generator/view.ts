// Prepares what templates print: every decision about generated code is made here, so templates compute nothing.
import { CLIENT_HANDLED_EXECUTES } from '../runtime/client/server-resources.js';
import type { Bound, EnumMember, Range, ResourceModel } from '../runtime/model.js';
import { isBigintResource } from '../runtime/values/check.js';
import { commentLines, commentText, jsString, markdownCell } from './escape.js';
import { literalMembers, type NamedObject, type NamedResource } from './names.js';

export interface GeneratorInfo {
  readonly name: string;
  readonly version: string;
  readonly runtimeImport: string;
}

function boundCode(b: Bound): string {
  return typeof b === 'bigint' ? `${b}n` : String(b);
}

/** A range as templates/_range.hbs prints it: bounds as code, text as a string literal; the kind as flags. */
export interface RangeView {
  readonly kind: Range['kind'];
  readonly isInterval?: true;
  readonly isLength?: true;
  readonly isEnum?: true;
  readonly min?: string;
  readonly max?: string;
  readonly values?: readonly number[];
  readonly members?: ReadonlyArray<{ readonly value: string; readonly to?: string; readonly label?: string }>;
  readonly text: string;
}

export function rangeView(r: Range): RangeView {
  switch (r.kind) {
    case 'interval':
      return {
        kind: r.kind, isInterval: true, text: jsString(r.text),
        ...(r.min !== undefined ? { min: boundCode(r.min) } : {}), ...(r.max !== undefined ? { max: boundCode(r.max) } : {}),
      };
    case 'length':
      return { kind: r.kind, isLength: true, min: String(r.min), max: String(r.max), ...(r.values ? { values: r.values } : {}), text: jsString(r.text) };
    case 'enum':
      return {
        kind: r.kind, isEnum: true, text: jsString(r.text),
        members: r.members.map(memberView),
      };
    case 'unparsed':
      return { kind: r.kind, text: jsString(r.text) };
  }
}

function memberView(m: EnumMember): { value: string; to?: string; label?: string } {
  return {
    value: typeof m.value === 'string' ? jsString(m.value) : boundCode(m.value),
    ...('to' in m && m.to !== undefined ? { to: boundCode(m.to) } : {}),
    ...(m.label !== undefined ? { label: jsString(m.label) } : {}),
  };
}

/** The TypeScript type of one value of a resource. */
export function valueType(n: NamedResource): string {
  const r = n.model;
  if (n.enumType) return n.enumType;
  switch (r.type) {
    case 'String':
    case 'Corelnk':
      return 'string';
    case 'Integer':
    case 'Unsigned Integer':
      // number, the runtime refusing what a number cannot hold; bigint only where the declared range needs more than 2^53.
      return isBigintResource(r) ? 'bigint' : 'number';
    case 'Float':
      return 'number';
    case 'Boolean':
      return 'boolean';
    case 'Opaque':
      return 'Uint8Array';
    case 'Time':
      return 'Date';
    case 'Objlnk':
      return 'ObjectLink';
    case 'none':
      return 'never';
  }
}

function rangeDoc(r: ResourceModel): string {
  if (!r.range) return '';
  if (r.range.kind === 'unparsed') return `${r.range.text} (not enforced)`;
  if (r.range.kind === 'length') return `${r.range.text} (length in bytes)`;
  return r.range.text;
}

const OPERATION_NAMES: Record<string, string> = { R: 'Read', W: 'Write', RW: 'Read/Write', E: 'Execute', '': 'none' };

export interface ResourceView {
  readonly id: number;
  readonly member: string;
  readonly pascal: string;
  /** The resource's model as templates/_resource-model.hbs prints it: strings already as literals. */
  readonly model: {
    readonly name: string; readonly operations: string; readonly type: string; readonly multiple: boolean; readonly mandatory: boolean;
    readonly range?: RangeView; readonly units?: string;
  };
  readonly doc: readonly string[];
  readonly isValue: boolean;
  readonly valueType: string;
  /** Getter type: one value, or the instances of a multiple resource. */
  readonly getType: string;
  /** Setter type: as the getter, arrays also accepted for multiple resources, undefined clears an optional one. */
  readonly setType: string;
  /** Type in the values interface the constructor takes (arrays accepted for multiple resources). */
  readonly initType: string;
  /** A constructor value: readable values only (write-only resources and executables never are). */
  readonly isInit: boolean;
  /** Required in the values interface: mandatory and readable (a read hook does not lift it: Discover and Write-Replace see the stored value). */
  readonly required: boolean;
  /** Optional resources can be cleared by setting undefined. */
  readonly clearable: boolean;
  readonly onWrite?: string;
  readonly onRead?: string;
  readonly isExecute: boolean;
  readonly abstractExecute: boolean;
  readonly enumType?: string;
  /** The literal union's members, as code. */
  readonly enumLiterals?: readonly string[];
  readonly labels?: { readonly constName: string; readonly entries: ReadonlyArray<{ readonly key: string; readonly code: string; readonly doc: string }> };
  /** Markdown cells, prepared only when docs are written. */
  readonly md?: { readonly name: string; readonly operations: string; readonly instances: string; readonly mandatory: string; readonly type: string; readonly range: string; readonly units: string; readonly description: string };
}

export interface ObjectView {
  readonly header: readonly string[];
  readonly runtimeImport: string;
  /** Which optional runtime types the module imports. */
  readonly importsExecuteArguments: boolean;
  readonly importsObjectLink: boolean;
  readonly className: string;
  readonly baseClass: string;
  readonly resourceEnum: string;
  readonly valuesInterface: string;
  readonly membersConst: string;
  readonly fileName: string;
  readonly objectId: number;
  /** The object's model fields, strings already as literals. */
  readonly model: { readonly name: string; readonly urn: string; readonly objectVersion: string; readonly lwm2mVersion: string; readonly multiple: boolean; readonly mandatory: boolean };
  readonly doc: readonly string[];
  readonly resources: readonly ResourceView[];
  readonly valueResources: readonly ResourceView[];
  /** The members of the values interface the constructor takes. */
  readonly initResources: readonly ResourceView[];
  /** Some constructor value is required, so the values argument is too. */
  readonly valuesRequired: boolean;
  readonly executeResources: readonly ResourceView[];
  readonly enumResources: readonly ResourceView[];
  readonly md?: { readonly title: string; readonly rows: readonly string[]; readonly description: string };
}

function resourceView(n: NamedResource, objectId: number, docs: boolean): ResourceView {
  const r = n.model;
  const isValue = r.operations !== 'E';
  const vt = valueType(n);
  const path = `/${objectId}/{instance}/${r.id}`;
  const doc = [
    `${commentText(r.name)} — resource ${r.id}, path \`${path}\`.`,
    '',
    `Operations: ${OPERATION_NAMES[r.operations]}. Type: ${r.type === 'none' ? 'none (executable)' : r.type}. ${r.multiple ? 'Multiple instances' : 'Single instance'}, ${r.mandatory ? 'mandatory' : 'optional'}.`,
    ...(r.range ? [`Range: ${commentText(rangeDoc(r))}.`] : []),
    ...(r.units ? [`Units: ${commentText(r.units)}.`] : []),
    ...(r.description ? ['', ...commentLines(r.description)] : []),
  ];
  const getType = r.multiple ? `ReadonlyMap<number, ${vt}>` : vt;
  const setBase = r.multiple ? `ReadonlyMap<number, ${vt}> | readonly (${vt})[]` : vt;
  const model: { -readonly [K in keyof ResourceView['model']]: ResourceView['model'][K] } = {
    name: jsString(r.name), operations: jsString(r.operations), type: jsString(r.type), multiple: r.multiple, mandatory: r.mandatory,
  };
  if (r.range) model.range = rangeView(r.range);
  if (r.units) model.units = jsString(r.units);
  const literals = n.enumType ? literalMembers(r) : undefined;
  const runtimeHandled = CLIENT_HANDLED_EXECUTES[objectId]?.includes(r.id) ?? false;
  const view: {
    -readonly [K in keyof ResourceView]: ResourceView[K];
  } = {
    id: r.id,
    member: n.member,
    pascal: n.pascal,
    model,
    doc,
    isValue,
    valueType: vt,
    getType,
    setType: r.mandatory ? setBase : `${setBase} | undefined`,
    clearable: !r.mandatory,
    initType: setBase,
    isInit: isValue && r.operations !== 'W',
    required: (r.operations === 'R' || r.operations === 'RW') && r.mandatory,
    isExecute: !isValue,
    abstractExecute: !isValue && r.mandatory && !runtimeHandled,
  };
  if (docs) {
    view.md = {
      name: markdownCell(r.name),
      operations: r.operations || '—',
      instances: r.multiple ? 'Multiple' : 'Single',
      mandatory: r.mandatory ? 'Mandatory' : 'Optional',
      type: r.type === 'none' ? '—' : r.type,
      range: markdownCell(r.range?.text),
      units: markdownCell(r.units),
      description: markdownCell(r.description),
    };
  }
  if (n.onWrite) view.onWrite = n.onWrite;
  if (n.onRead) view.onRead = n.onRead;
  if (n.enumType && literals) {
    view.enumType = n.enumType;
    view.enumLiterals = literals.map((m) => (typeof m.value === 'string' ? jsString(m.value) : boundCode(m.value)));
  }
  if (n.labels) {
    view.labels = {
      constName: n.labels.constName,
      entries: n.labels.keys.map((k) => ({
        key: k.key,
        code: typeof k.member.value === 'string' ? jsString(k.member.value) : boundCode(k.member.value),
        doc: commentText(k.member.label ?? ''),
      })),
    };
  }
  return view;
}

export function objectView(o: NamedObject, source: string, gen: GeneratorInfo, docs = false): ObjectView {
  const m = o.model;
  const resources = o.resources.map((r) => resourceView(r, m.id, docs));
  const view: { -readonly [K in keyof ObjectView]: ObjectView[K] } = {
    header: [
      `Generated by ${gen.name} ${gen.version} from ${commentText(source)}.`,
      'Do not edit: change the object definition and run lwm2m-gen again.',
    ],
    runtimeImport: jsString(gen.runtimeImport),
    importsExecuteArguments: resources.some((r) => r.isExecute),
    importsObjectLink: resources.some((r) => r.valueType.includes('ObjectLink')),
    className: o.className,
    baseClass: o.baseClass,
    resourceEnum: o.resourceEnum,
    valuesInterface: o.valuesInterface,
    membersConst: o.membersConst,
    fileName: o.fileName,
    objectId: m.id,
    model: {
      name: jsString(m.name), urn: jsString(m.urn), objectVersion: jsString(m.objectVersion), lwm2mVersion: jsString(m.lwm2mVersion),
      multiple: m.multiple, mandatory: m.mandatory,
    },
    doc: [
      `${commentText(m.name)} — object ${m.id} (${commentText(m.urn)}), version ${commentText(m.objectVersion)}, LwM2M ${commentText(m.lwm2mVersion)}.`,
      `${m.multiple ? 'Multiple instances' : 'Single instance'}, ${m.mandatory ? 'mandatory' : 'optional'}.`,
      ...(m.description ? ['', ...commentLines(m.description)] : []),
    ],
    resources,
    valueResources: resources.filter((r) => r.isValue),
    initResources: resources.filter((r) => r.isInit),
    valuesRequired: resources.some((r) => r.required),
    executeResources: resources.filter((r) => r.isExecute),
    enumResources: resources.filter((r) => r.enumType !== undefined || r.labels !== undefined),
  };
  if (docs) {
    view.md = {
      title: `${markdownCell(m.name)} (/${m.id})`,
      rows: [
        `| Object ID | ${m.id} |`, `| URN | ${markdownCell(m.urn)} |`, `| Object version | ${markdownCell(m.objectVersion)} |`,
        `| LwM2M version | ${markdownCell(m.lwm2mVersion)} |`, `| Instances | ${m.multiple ? 'Multiple' : 'Single'} |`,
        `| Mandatory | ${m.mandatory ? 'Mandatory' : 'Optional'} |`, `| Generated class | \`${o.baseClass}\` in \`${o.fileName}.ts\` |`,
      ],
      description: (m.description ?? '').replace(/\\n/g, '\n').replace(/</g, '&lt;'),
    };
  }
  return view;
}
