// lwm2m-gen/runtime: what generated code and device apps import.
export * from './model.js';
export * from './errors.js';
export * from './values/index.js';
export * from './object/index.js';
export * from './codec/index.js';
export * from './coap/index.js';
export * from './auth/index.js';
export * from './client/index.js';
export * from './notify/index.js';
export * from './firmware/index.js';
export * from './device/index.js';
export * from './store/index.js';
