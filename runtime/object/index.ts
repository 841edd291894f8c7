// Object instances and their execute arguments.
export * from './instance.js';
export * from './execute-args.js';
export * from './mixin-types.js';
