// The standard behaviour of the Device (/3) and Config objects, and the mixins that give it to generated classes.
export * from './device.js';
export * from './config.js';
export * from './mixins.js';
