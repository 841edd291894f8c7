// LwM2M <NOTIFICATION> attributes: parsing Write-Attributes queries, storing them per level, and resolving them by inheritance.
import { BadRequestError } from '../errors.js';
import { isReadable, type Lwm2mPath, type ResourceModel } from '../model.js';

/**
 * The notification attributes of one level (object, instance, resource or resource instance).
 * Periods are in seconds; gt, lt and st are in the resource's own unit.
 */
export interface NotificationAttributes {
  pmin?: number;
  pmax?: number;
  gt?: number;
  lt?: number;
  st?: number;
  epmin?: number;
  epmax?: number;
  /** LwM2M 1.2 Edge, on a Boolean resource: 1 notifies the rising edge (false → true) only, 0 the falling one. */
  edge?: number;
  /** LwM2M 1.2 Confirmable Notification: 1 sends this observation's notifications as CON, 0 as NON. */
  con?: number;
  /**
   * LwM2M 1.2 Maximum Historical Queue: at most this many of an observation's notifications are stored while the
   * server is unreachable (the oldest go first); 0 keeps only the latest.
   */
  hqmax?: number;
}

export type AttributeName = keyof NotificationAttributes;

/** Canonical order, used for Discover output so it is deterministic. */
export const ATTRIBUTE_NAMES: readonly AttributeName[] = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax', 'edge', 'con', 'hqmax'];

/** What one Write-Attributes request does at its level: attributes to set and attributes to remove. */
export interface AttributeUpdate {
  readonly set: Readonly<NotificationAttributes>;
  readonly clear: readonly AttributeName[];
}

const PERIODS: ReadonlySet<AttributeName> = new Set(['pmin', 'pmax', 'epmin', 'epmax']);
const THRESHOLDS: ReadonlySet<AttributeName> = new Set(['gt', 'lt', 'st']);
/** The LwM2M 1.2 attributes whose value is a flag, 0 or 1. */
const FLAGS: ReadonlySet<AttributeName> = new Set(['edge', 'con']);
const NAMES: ReadonlySet<string> = new Set(ATTRIBUTE_NAMES);

function isAttributeName(name: string): name is AttributeName {
  return NAMES.has(name);
}

/** Types on which gt, lt and st mean something: LwM2M says "numerical resources". */
function isNumeric(resource: ResourceModel): boolean {
  return resource.type === 'Integer' || resource.type === 'Unsigned Integer' || resource.type === 'Float';
}

function parseNumber(name: AttributeName, text: string, path: Lwm2mPath): number {
  if (FLAGS.has(name)) {
    if (text !== '0' && text !== '1') throw new BadRequestError(`attribute ${name}="${text}" is neither 0 nor 1`, path);
    return Number(text);
  }
  if (name === 'hqmax') {
    if (!/^\d{1,9}$/.test(text)) throw new BadRequestError(`attribute hqmax="${text}" is not a non-negative whole number`, path);
    return Number(text);
  }
  if (PERIODS.has(name)) {
    // Periods are whole seconds in the spec's ABNF (1*DIGIT).
    if (!/^\d{1,15}$/.test(text)) throw new BadRequestError(`attribute ${name}="${text}" is not a whole number of seconds`, path);
    return Number(text);
  }
  // gt/lt may be negative: the 1.2 ABNF says 1*DIGIT, but OMA (OMA_LwM2M_for_Developers#563) and Leshan accept
  // negative thresholds, which signal strengths and temperatures need. st is a distance and cannot be negative.
  const signed = name !== 'st';
  const re = signed ? /^-?\d{1,15}(\.\d{1,15})?$/ : /^\d{1,15}(\.\d{1,15})?$/;
  if (!re.test(text)) {
    throw new BadRequestError(`attribute ${name}="${text}" is not a ${signed ? '' : 'non-negative '}decimal number`, path);
  }
  return Number(text);
}

/**
 * Checks the rules that tie attributes of one level together. Called on the query alone and again on
 * the merged result, so a request that only sets lt is still refused when it contradicts a stored gt.
 */
function checkCombination(a: Readonly<NotificationAttributes>, path: Lwm2mPath): void {
  if (a.pmin !== undefined && a.pmax !== undefined && a.pmax < a.pmin) {
    throw new BadRequestError(`pmax (${a.pmax}) is less than pmin (${a.pmin})`, path);
  }
  if (a.epmin !== undefined && a.epmax !== undefined && a.epmax <= a.epmin) {
    throw new BadRequestError(`epmax (${a.epmax}) is not greater than epmin (${a.epmin})`, path);
  }
  if (a.lt !== undefined && a.gt !== undefined) {
    if (a.lt >= a.gt) throw new BadRequestError(`lt (${a.lt}) is not less than gt (${a.gt})`, path);
    if (a.st !== undefined && a.lt + 2 * a.st >= a.gt) {
      throw new BadRequestError(`lt + 2*st (${a.lt} + 2*${a.st}) is not less than gt (${a.gt})`, path);
    }
  }
}

/**
 * Parses the Uri-Query of a Write-Attributes request ("pmin=10", "gt=20.5", "pmax" = clear).
 * BadRequestError for unknown names, bad numbers, duplicates, and what the spec forbids: gt/lt/st on a
 * non-numeric resource or above resource level, lt >= gt, lt + 2*st >= gt, pmax < pmin, epmax <= epmin,
 * negative periods or steps; and of LwM2M 1.2: edge on anything but a readable Boolean resource, edge or con other
 * than 0/1, hqmax below 0 or not whole. `resource` is the model of the resource the path names (absent above resource level).
 */
export function parseWriteAttributes(query: readonly string[], path: Lwm2mPath, resource?: ResourceModel): AttributeUpdate {
  if (query.length === 0) throw new BadRequestError('Write-Attributes without any attribute', path);
  const set: NotificationAttributes = {};
  const clear: AttributeName[] = [];
  const seen = new Set<string>();
  for (const item of query) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!isAttributeName(name)) throw new BadRequestError(`unknown attribute "${name}"`, path);
    if (seen.has(name)) throw new BadRequestError(`attribute ${name} given more than once`, path);
    seen.add(name);
    if (THRESHOLDS.has(name)) {
      if (path.resourceId === undefined) {
        throw new BadRequestError(`attribute ${name} applies to resources and resource instances only`, path);
      }
      if (resource && (!isNumeric(resource) || !isReadable(resource))) {
        throw new BadRequestError(`attribute ${name} needs a readable numeric resource (this one is ${resource.type}, ${resource.operations || 'no operations'})`, path);
      }
    }
    if (name === 'edge') {
      // An edge is a transition of a boolean: it means nothing above resource level or on another type.
      if (path.resourceId === undefined) throw new BadRequestError('attribute edge applies to Boolean resources only, not above resource level', path);
      if (resource && (resource.type !== 'Boolean' || !isReadable(resource))) {
        throw new BadRequestError(`attribute edge needs a readable Boolean resource (this one is ${resource.type}, ${resource.operations || 'no operations'})`, path);
      }
    }
    if (eq < 0) {
      clear.push(name);
      continue;
    }
    const text = item.slice(eq + 1);
    // "pmin=" is not in the spec's grammar; treating it like "pmin" would hide a client bug.
    if (text === '') throw new BadRequestError(`attribute ${name}= has an empty value (send "${name}" alone to remove it)`, path);
    set[name] = parseNumber(name, text, path);
  }
  checkCombination(set, path);
  return { set, clear };
}

/**
 * The attributes of an Observe request's query (LwM2M 1.2 lets an Observe carry them, for that observation only):
 * the same names, values and rules as Write-Attributes, checked the same way (BadRequestError, a 4.00), except that
 * a name without a value (a removal in Write-Attributes) means nothing here and is refused. No query: no attributes.
 */
export function parseObserveAttributes(query: readonly string[], path: Lwm2mPath, resource?: ResourceModel): NotificationAttributes {
  if (query.length === 0) return {};
  const { set, clear } = parseWriteAttributes(query, path, resource);
  if (clear.length > 0) throw new BadRequestError(`attribute ${clear[0]} without a value in an Observe request`, path);
  return { ...set };
}

interface Level {
  own?: NotificationAttributes;
  kids?: Map<number, Level>;
}

function ids(path: Lwm2mPath): number[] {
  const out = [path.objectId];
  if (path.instanceId !== undefined) {
    out.push(path.instanceId);
    if (path.resourceId !== undefined) {
      out.push(path.resourceId);
      if (path.resourceInstanceId !== undefined) out.push(path.resourceInstanceId);
    }
  }
  return out;
}

function isEmpty(a: NotificationAttributes): boolean {
  for (const n of ATTRIBUTE_NAMES) if (a[n] !== undefined) return false;
  return true;
}

/**
 * The attributes one LwM2M Server has written, at each level. Attributes belong to a server: keep one
 * store per server account. Lookups walk at most four levels, so they cost the same however many paths hold attributes.
 */
export class AttributeStore {
  readonly #objects = new Map<number, Level>();

  #find(path: Lwm2mPath): Level | undefined {
    let level: Level | undefined;
    let kids: Map<number, Level> | undefined = this.#objects;
    for (const id of ids(path)) {
      level = kids?.get(id);
      if (!level) return undefined;
      kids = level.kids;
    }
    return level;
  }

  #make(path: Lwm2mPath): Level {
    let level: Level | undefined;
    for (const id of ids(path)) {
      // Child maps are made only on the way down, so leaves (most levels) carry none.
      const kids: Map<number, Level> = level ? (level.kids ??= new Map()) : this.#objects;
      let next = kids.get(id);
      if (!next) {
        next = {};
        kids.set(id, next);
      }
      level = next;
    }
    return level!;
  }

  /**
   * Applies a parsed Write-Attributes at exactly `path`. All or nothing: when the result would break a
   * rule (pmax < pmin, lt >= gt, ...) it throws BadRequestError and the store is unchanged.
   */
  apply(path: Lwm2mPath, update: AttributeUpdate): void {
    const next: NotificationAttributes = { ...this.#find(path)?.own };
    for (const n of update.clear) delete next[n];
    for (const n of ATTRIBUTE_NAMES) {
      const v = update.set[n];
      if (v !== undefined) next[n] = v;
    }
    checkCombination(next, path);
    if (isEmpty(next)) {
      const level = this.#find(path);
      if (level) delete level.own;
      return;
    }
    this.#make(path).own = next;
  }

  /** The attributes written at exactly this level (a copy). */
  get(path: Lwm2mPath): NotificationAttributes {
    return { ...this.#find(path)?.own };
  }

  /**
   * The attributes in force for `path`, as LwM2M inherits them: for each attribute the deepest level
   * that has it (resource instance → resource → instance → object), else `defaults`.
   */
  effective(path: Lwm2mPath, defaults: Readonly<NotificationAttributes> = {}): NotificationAttributes {
    const out: NotificationAttributes = { ...defaults };
    let kids: Map<number, Level> | undefined = this.#objects;
    // Walking from the object down, later (deeper) levels overwrite earlier ones.
    for (const id of ids(path)) {
      const level: Level | undefined = kids?.get(id);
      if (!level) break;
      const own = level.own;
      if (own) {
        for (const n of ATTRIBUTE_NAMES) {
          const v = own[n];
          if (v !== undefined) out[n] = v;
        }
      }
      kids = level.kids;
    }
    return out;
  }

  /** For Discover: the [name, value] pairs written at exactly this level, in canonical order. */
  linkAttributes(path: Lwm2mPath): Array<[string, number]> {
    const own = this.#find(path)?.own;
    const out: Array<[string, number]> = [];
    if (!own) return out;
    for (const n of ATTRIBUTE_NAMES) {
      const v = own[n];
      if (v !== undefined) out.push([n, v]);
    }
    return out;
  }

  /** Forgets the attributes of an instance and everything under it (the instance was deleted). */
  clearInstance(objectId: number, instanceId: number): void {
    this.#objects.get(objectId)?.kids?.delete(instanceId);
  }

  /** Forgets everything (the server account was removed or re-bootstrapped). */
  clearAll(): void {
    this.#objects.clear();
  }
}
