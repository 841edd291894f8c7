// Observe attributes, the observation registry, the notify scheduler and the outbox that holds notifications while offline: the parts of Observe that touch no socket.
export * from './attributes.js';
export * from './clock.js';
export * from './policy.js';
export * from './scheduler.js';
export * from './observations.js';
export * from './stored.js';
export * from './outbox.js';
export * from './timestamp.js';
