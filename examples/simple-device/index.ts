// The simulated device's public API: start it in-process, parse its command line, or extend its objects.
export * from './app.js';
export * from './cli.js';
export * from './objects.js';
export * from './provisioned.js';
export * from './send.js';
