// Public API of auth/: SAS tokens from a connection string, and their renewal.
export * from './errors.js';
export * from './sas.js';
