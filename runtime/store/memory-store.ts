// StateStore in memory: tests, and devices that keep nothing across restarts but want one code path.
import { decodeSections, encodeSections } from './encoding.js';
import type { StateStore, StoredSections } from './types.js';

export class MemoryStateStore implements StateStore {
  readonly where = 'memory';
  /** The encoded document, as a file store would hold it (tests may tamper with it). */
  text: string | undefined;
  saves = 0;

  async load(): Promise<StoredSections | undefined> {
    return this.text === undefined ? undefined : decodeSections(this.text, this.where);
  }
  async save(sections: StoredSections): Promise<void> {
    this.text = encodeSections(sections);
    this.saves++;
  }
}
