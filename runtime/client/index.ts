// The LwM2M client: connecting (server URI, SAS), the facade, registration engine, Security and Server objects, object registry, request routing, Discover and Write-Attributes.
export * from './client.js';
export * from './events.js';
export * from './links.js';
export * from './registry.js';
export * from './router.js';
export * from './connect.js';
export * from './registration.js';
export * from './send.js';
export * from './server-object.js';
export * from './server-model.js';
export type { CompositeObserveHooks, CompositeObserveRegistration } from './composite.js';
export * from './security-object.js';
export * from './security-model.js';
export * from './bootstrap-session.js';
export * from './bootstrap.js';
export * from './device-state.js';
export * from './device-client.js';
export type { StoredObservation } from './observe.js';
