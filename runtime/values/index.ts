// Value checks and conversions driven by the object model.
export * from './check.js';
