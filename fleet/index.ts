// lwm2m-gen/fleet: many simulated LwM2M devices in one process, built on lwm2m-gen/runtime's public API.
export { Fleet, checkFleetOptions, type FleetOptions, type FleetEvents } from './fleet.js';
export { FleetStats, Histogram, type FleetSnapshot } from './stats.js';
export { FleetOptionError, expandTemplate, credentialsFor, type CredentialOptions, type DeviceCredentials } from './credentials.js';
export { modelDevice, sensibleValue, ModelInstance, type DeviceContext } from './model-device.js';
export {
  createValueSource, parseResourcePath, readCsvColumn, GeneratorError,
  type GeneratorSpec, type ValueGeneratorOptions, type ValueSource, type ResourcePath,
} from './generators.js';
export { toResourceValue } from './values.js';
export { openFileLimit, ephemeralPortCount } from './limits.js';
export { defaultObjects } from './default-objects.js';
export { loadObjects } from './load-objects.js';
export {
  Lwm2mArtilleryEngine,
  type Lwm2mEngineConfig, type Lwm2mStep, type ArtilleryScript, type ArtilleryEvents, type ArtilleryHelpers, type ArtilleryContext,
} from './artillery.js';
