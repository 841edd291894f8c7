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
