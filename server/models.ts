// The object models that name what devices show: the generator's DDF parser over the default and --objects inputs.
import { defineObject, type ObjectDefinition, type ResourceModel, type Range } from 'lwm2m-gen/runtime';
import { formatDiagnostic, loadObjects, type Diagnostic } from '../generator/index.js';
import { defaultObjectsFolder } from './paths.js';

/** The models by object id; a later input's object replaces an earlier one of the same id (so --objects overrides). */
export type ModelSet = ReadonlyMap<number, ObjectDefinition>;

/** Models that could not be loaded: the diagnostics say file, line and what is wrong. */
export class ModelLoadError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ModelLoadError';
    this.diagnostics = diagnostics;
  }
}

/**
 * Loads the project's registry/ and then each of `inputs` (DDF files or folders) through the generator's parser and
 * validator. Errors (not warnings) in an input reject with a ModelLoadError.
 */
export function loadModels(inputs: readonly string[], options: { includeDefaults?: boolean } = {}): ModelSet {
  const models = new Map<number, ObjectDefinition>();
  const groups = [...(options.includeDefaults === false ? [] : [[defaultObjectsFolder()]]), ...(inputs.length ? [inputs] : [])];
  for (const group of groups) {
    const { objects, diagnostics } = loadObjects(group);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) throw new ModelLoadError(errors);
    for (const o of objects) models.set(o.model.id, defineObject(o.model));
  }
  return models;
}

/** A range as the UI shows it: the DDF's own text, and numeric bounds when it has them. */
interface RangeView {
  readonly text: string;
  readonly min?: string;
  readonly max?: string;
}

/** One resource as the UI draws it (JSON: bigint bounds as text). */
export interface ResourceView {
  readonly id: number;
  readonly name: string;
  readonly operations: string;
  readonly type: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly units?: string;
  readonly description?: string;
  readonly range?: RangeView;
}

/** One object as the UI draws it. */
export interface ObjectView {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly multiple: boolean;
  readonly description?: string;
  readonly resources: readonly ResourceView[];
}

function rangeView(r: Range): RangeView {
  if (r.kind === 'interval') {
    return { text: r.text, ...(r.min === undefined ? {} : { min: String(r.min) }), ...(r.max === undefined ? {} : { max: String(r.max) }) };
  }
  return { text: r.text };
}

function resourceView(r: ResourceModel): ResourceView {
  return {
    id: r.id, name: r.name, operations: r.operations, type: r.type, multiple: r.multiple, mandatory: r.mandatory,
    ...(r.units ? { units: r.units } : {}), ...(r.description ? { description: r.description } : {}),
    ...(r.range ? { range: rangeView(r.range) } : {}),
  };
}

/** The model of an object as JSON for the page. */
export function objectView(m: ObjectDefinition): ObjectView {
  return {
    id: m.id, name: m.name, version: m.objectVersion, multiple: m.multiple,
    ...(m.description ? { description: m.description } : {}), resources: m.resources.map(resourceView),
  };
}
