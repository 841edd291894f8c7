// The LwM2M client: connecting (server URI, SAS), registration lifecycle, object registry, request routing, Discover and Write-Attributes.
export * from './client.js';
export * from './events.js';
export * from './links.js';
export * from './registry.js';
export * from './router.js';
export * from './connect.js';
export { CLIENT_HANDLED_EXECUTES } from './server-resources.js';
