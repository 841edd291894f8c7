// Observe attributes, the observation registry and the notify scheduler: the parts of Observe that touch no socket.
export * from './attributes.js';
