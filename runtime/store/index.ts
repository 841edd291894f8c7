// The persistent store: what a device keeps across restarts, in one atomically replaced document.
export * from './types.js';
export { encodeSections, decodeSections } from './encoding.js';
export { FileStateStore } from './file-store.js';
export { MemoryStateStore } from './memory-store.js';
export { PersistentState, type OpenedState, type StateSection } from './state.js';
