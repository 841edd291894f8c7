// The one place identifiers are made: DDF names → camelCase members and PascalCase types, reserved words escaped, collisions resolved.
import type { EnumMember, ObjectModel, ResourceModel } from '../runtime/model.js';
import { OBJECT_INSTANCE_MEMBERS } from '../runtime/object/instance.js';

/*
 * Rules (documented in docs/naming.md):
 * 1. Words are the runs of ASCII letters and digits; everything else separates them (spaces of any kind, brackets,
 *    "/", "|", ".", "-", "_"). "+" reads as "Plus", "%" as "Percent", "&" as "And", "#" as "Number"; accents are
 *    stripped, other characters dropped.
 * 2. An all-capitals word counts as one word ("IMEI" → "imei", "SMS Count" → "smsCount"); other words keep their
 *    inner capitals after the first letter ("iPhone Id" → "iPhoneId").
 * 3. A name that starts with a digit gets a leading "_"; a name with no letters or digits becomes `resource<ID>` /
 *    `Object<ID>`.
 * 4. Reserved words and names the runtime base class uses get a trailing "_" ("package_", "constructor_", "path_").
 * 5. Collisions are settled in ascending id order: the lowest id keeps the name, each later one gets "_<id>"
 *    appended (objects 3421/3422 resources, two objects both called "Location": Location and Location_3336).
 */

const SYMBOL_WORDS: Record<string, string> = { '+': ' Plus ', '%': ' Percent ', '&': ' And ', '#': ' Number ' };

export function words(name: string): string[] {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[+%&#]/g, (c) => SYMBOL_WORDS[c] ?? ' ');
  return ascii.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
}

function capital(w: string): string {
  const base = /^[A-Z0-9]+$/.test(w) ? w.toLowerCase() : w;
  return base.charAt(0).toUpperCase() + base.slice(1);
}

export function toPascal(name: string): string {
  return words(name).map(capital).join('');
}

export function toCamel(name: string): string {
  const ws = words(name);
  if (ws.length === 0) return '';
  const first = ws[0]!;
  const head = /^[A-Z0-9]+$/.test(first) ? first.toLowerCase() : first.charAt(0).toLowerCase() + first.slice(1);
  return head + ws.slice(1).map(capital).join('');
}

/** ECMAScript and TypeScript reserved and contextual words that cannot, or should not, name a member or type. */
export const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'as',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield', 'any', 'boolean',
  'constructor', 'declare', 'get', 'module', 'require', 'number', 'set', 'string', 'symbol', 'type', 'from', 'of',
  'await', 'async', 'abstract', 'readonly', 'keyof', 'infer', 'is', 'never', 'unknown', 'object', 'bigint',
  'undefined', 'namespace', 'override', 'satisfies', 'accessor', 'arguments', 'eval', 'prototype', '__proto__',
  'toString', 'valueOf', 'hasOwnProperty', 'Object', 'Array', 'Map', 'Date', 'Uint8Array', 'Promise', 'Record',
]);

/** Members of the runtime's ObjectInstance that generated members must not shadow: the runtime's own list. */
export const BASE_MEMBERS: ReadonlySet<string> = new Set(OBJECT_INSTANCE_MEMBERS);

function escape(id: string, reserved: ReadonlySet<string>): string {
  return RESERVED.has(id) || reserved.has(id) ? `${id}_` : id;
}

function ident(raw: string, fallback: string): string {
  if (raw === '') return fallback;
  return /^[0-9]/.test(raw) ? `_${raw}` : raw;
}

/** Hands out unique identifiers within one scope; the order of claims decides who keeps a contested name. */
export class NameScope {
  readonly #taken = new Set<string>();
  constructor(taken: Iterable<string> = []) {
    for (const t of taken) this.#taken.add(t);
  }
  has(name: string): boolean {
    return this.#taken.has(name);
  }
  /** Claims `base`, or `base_<tag>` (then `base_<tag>_2`, …) when taken. Claims `alsoNeeds` derived names together. */
  claim(base: string, tag: string | number, derive: (n: string) => string[] = (n) => [n]): string {
    let candidate = base;
    for (let i = 1; derive(candidate).some((n) => this.#taken.has(n)); i++) {
      candidate = i === 1 ? `${base}_${tag}` : `${base}_${tag}_${i}`;
    }
    for (const n of derive(candidate)) this.#taken.add(n);
    return candidate;
  }
}

export interface NamedResource {
  readonly model: ResourceModel;
  /** camelCase member: the property for values, the method for executables. */
  readonly member: string;
  /** PascalCase form, used in the resource id enum and for derived names. */
  readonly pascal: string;
  readonly onWrite?: string;
  readonly onRead?: string;
  /** Exported literal union type for an enumerated resource. */
  readonly enumType?: string;
  /** Exported constant object of labelled enumeration values, with its keys. */
  readonly labels?: { readonly constName: string; readonly keys: ReadonlyArray<{ readonly key: string; readonly member: EnumMember }> };
}

export interface NamedObject {
  readonly model: ObjectModel;
  /** PascalCase name of the object: the model constant. */
  readonly className: string;
  readonly baseClass: string;
  readonly resourceEnum: string;
  readonly valuesInterface: string;
  readonly membersConst: string;
  readonly fileName: string;
  readonly resources: readonly NamedResource[];
}

const derivedOf = (c: string) => [c, `${c}Base`, `${c}Resource`, `${c}Values`, `${c}Members`];

/**
 * Mixed-case acronyms that stay one word in file names (`LwM2M Server` → `lwm2m-server.ts`, not `lw-m2m-server.ts`).
 * All-capitals acronyms need no entry: a run of capitals is already kept together.
 */
export const WHOLE_ACRONYMS: readonly string[] = ['LwM2M', 'CoAP', 'IoT', 'LiDAR', 'NuSIM', 'VoLTE'];
const ACRONYM = new RegExp(`(${WHOLE_ACRONYMS.join('|')})(?![a-z])`, 'g');

export function kebab(pascal: string): string {
  return pascal.replace(ACRONYM, (a) => a.charAt(0) + a.slice(1).toLowerCase()).replace(/_/g, '-').replace(/([a-z])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase().replace(/^-+/, '');
}

function isLabelledEnum(r: ResourceModel): boolean {
  return r.range?.kind === 'enum' && r.range.members.some((m) => m.label !== undefined);
}

/** Single numeric values only, few enough to spell out as a literal union. */
export function literalMembers(r: ResourceModel): readonly EnumMember[] | undefined {
  if (r.range?.kind !== 'enum' || r.range.members.length > 64) return undefined;
  if (r.type === 'String') return r.range.members.every((m) => typeof m.value === 'string') ? r.range.members : undefined;
  if (r.type !== 'Integer' && r.type !== 'Unsigned Integer') return undefined;
  return r.range.members.every((m) => typeof m.value !== 'string' && !('to' in m && m.to !== undefined)) ? r.range.members : undefined;
}

/** Names every object of one run and its resources. Input order does not matter: objects are taken by id. */
export function nameObjects(models: readonly ObjectModel[]): NamedObject[] {
  const global = new NameScope(['index', 'Index', 'ObjectInstance', 'defineObject']);
  const files = new NameScope(['index']);
  return [...models].sort((a, b) => a.id - b.id).map((m) => {
    const className = global.claim(escape(ident(toPascal(m.name), `Object${m.id}`), new Set()), m.id, derivedOf);
    const members = new NameScope(BASE_MEMBERS);
    const resources: NamedResource[] = [];
    // First pass settles the members, in id order; hooks come after so they never take a resource's name.
    const settled = [...m.resources].sort((a, b) => a.id - b.id).map((r) => {
      const member = members.claim(escape(ident(toCamel(r.name), `resource${r.id}`), BASE_MEMBERS), r.id);
      return { r, member };
    });
    const pascals = new NameScope();
    for (const { r, member } of settled) {
      const pascal = pascals.claim(member.charAt(0).toUpperCase() + member.slice(1).replace(/_$/, ''), r.id);
      const isValue = r.operations !== 'E';
      const writable = r.operations === 'W' || r.operations === 'RW';
      const readable = r.operations === 'R' || r.operations === 'RW';
      const named: {
        model: ResourceModel; member: string; pascal: string; onWrite?: string; onRead?: string; enumType?: string;
        labels?: NonNullable<NamedResource['labels']>;
      } = { model: r, member, pascal };
      if (writable) named.onWrite = members.claim(`onWrite${pascal}`, r.id);
      if (readable && isValue) named.onRead = members.claim(`onRead${pascal}`, r.id);
      if (literalMembers(r)) named.enumType = global.claim(`${className}${pascal}`, r.id);
      if (isLabelledEnum(r) && r.range?.kind === 'enum') {
        const keys = new NameScope();
        named.labels = {
          constName: global.claim(`${className}${pascal}Values`, r.id),
          keys: r.range.members.filter((mm) => mm.label !== undefined).map((mm) => ({
            key: keys.claim(escape(ident(toPascal(mm.label!), `Value${String(mm.value)}`), new Set()), String(mm.value).replace('-', 'Minus')),
            member: mm,
          })),
        };
      }
      resources.push(named);
    }
    return {
      model: m,
      className,
      baseClass: `${className}Base`,
      resourceEnum: `${className}Resource`,
      valuesInterface: `${className}Values`,
      membersConst: `${className}Members`,
      fileName: files.claim(kebab(className), m.id),
      resources,
    };
  });
}
