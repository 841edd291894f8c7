// Loads the object models a fleet's devices are made from, out of a module (a built generated index or any module of model constants).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectDefinition } from 'lwm2m-gen/runtime';
import { FleetOptionError } from './credentials.js';

function isObjectDefinition(v: unknown): v is ObjectDefinition {
  return typeof v === 'object' && v !== null && typeof (v as ObjectDefinition).id === 'number'
    && Array.isArray((v as ObjectDefinition).resources) && typeof (v as ObjectDefinition).resource === 'function';
}

/** The model constants a module exports (`allObjects` of a generated index, or each exported model); throws FleetOptionError. */
export async function loadObjects(file: string, base = process.cwd()): Promise<ObjectDefinition[]> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(base, file)).href) as Record<string, unknown>;
  } catch (err) {
    throw new FleetOptionError('objects', `${file}: cannot load it (${(err as Error).message.split('\n')[0]}); give a built generated index, e.g. dist/generated/index.js`);
  }
  const all = Array.isArray(mod.allObjects) ? (mod.allObjects as unknown[]) : Object.values(mod);
  const defs = all.filter(isObjectDefinition);
  if (defs.length === 0) throw new FleetOptionError('objects', `${file}: the module exports no object models (generated model constants or allObjects)`);
  return [...new Map(defs.map((d) => [d.id, d])).values()];
}
