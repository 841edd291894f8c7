// lwm2m-gen/generator: the generator as a library (the CLI is a thin layer over generate()).
export { generate, loadObjects, type GenerateOptions, type GenerateResult } from './generate.js';
export { parseDdf, type ParsedObject, type ObjectSource } from './parse.js';
export { parseRange } from './range.js';
export { nameObjects, toCamel, toPascal, type NamedObject, type NamedResource } from './names.js';
export { formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { main } from './cli.js';
export { diffObjects, compareRanges, formatChange, type Change, type ChangeKind, type DiffResult, type Impact, type RangeChange } from './diff.js';
export { diffMain, checkExtensionsMain } from './diff-cli.js';
export type { ExtensionFinding, FindingKind, CheckExtensionsOptions, CheckExtensionsResult } from './extensions.js';
export { ALLOW_OUT_OF_RANGE } from './extensions-scope.js';
export { generatedNames, nameChanges, type GeneratedName, type NameChange } from './diff-names.js';
