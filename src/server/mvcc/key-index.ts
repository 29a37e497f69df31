import { OrderedMap } from '@js-sdsl/ordered-map';
import { KeyHistory } from './key-history.js';
import type { KeySpan } from './key-span.js';

/** The sorted map of every key the store has history for (unsigned byte order). */
export class KeyIndex {
  private readonly map = new OrderedMap<string, KeyHistory>();

  get size(): number {
    return this.map.size();
  }

  get(key: string): KeyHistory | undefined {
    return this.map.getElementByKey(key);
  }

  /** The key's history, created empty when missing. */
  obtain(key: string): KeyHistory {
    let h = this.map.getElementByKey(key);
    if (h === undefined) {
      h = new KeyHistory(key);
      this.map.setElement(key, h);
    }
    return h;
  }

  remove(key: string): void {
    this.map.eraseElementByKey(key);
  }

  /** Visits the histories of keys in `span`, ascending; stop early by returning false. */
  forEachInSpan(span: KeySpan, visit: (history: KeyHistory) => boolean | void): void {
    if (span.single) {
      const h = this.map.getElementByKey(span.start);
      if (h !== undefined) visit(h);
      return;
    }
    if (span.end !== null && span.end <= span.start) return;
    const end = this.map.end();
    for (const it = this.map.lowerBound(span.start); !it.equals(end); it.next()) {
      const h = it.pointer[1];
      if (span.end !== null && h.key >= span.end) return;
      if (visit(h) === false) return;
    }
  }

  /** Visits every history, ascending by key. */
  forEach(visit: (history: KeyHistory) => void): void {
    this.map.forEach(([, h]) => visit(h));
  }
}
