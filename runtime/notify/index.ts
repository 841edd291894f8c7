// Observe attributes, the observation registry and the notify scheduler: the parts of Observe that touch no socket.
export * from './attributes.js';
export * from './clock.js';
export * from './policy.js';
export * from './scheduler.js';
export * from './observations.js';
