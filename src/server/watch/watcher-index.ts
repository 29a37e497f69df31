import type { Watcher } from './watcher.js';

/**
 * A set of watchers searchable by key: single-key watchers in a map by key, range watchers in
 * a list scanned per key (fine for the watcher counts a test server sees).
 */
export class WatcherIndex {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: Watcher): void {
    const { span } = w.spec;
    if (span.single) {
      let set = this.byKey.get(span.start);
      if (set === undefined) this.byKey.set(span.start, (set = new Set()));
      if (set.has(w)) return;
      set.add(w);
    } else {
      if (this.ranges.has(w)) return;
      this.ranges.add(w);
    }
    this.count++;
  }

  /** Removes `w`; false when it was not in the index. */
  delete(w: Watcher): boolean {
    const { span } = w.spec;
    let removed: boolean;
    if (span.single) {
      const set = this.byKey.get(span.start);
      removed = set?.delete(w) ?? false;
      if (set !== undefined && set.size === 0) this.byKey.delete(span.start);
    } else {
      removed = this.ranges.delete(w);
    }
    if (removed) this.count--;
    return removed;
  }

  has(w: Watcher): boolean {
    return w.spec.span.single ? (this.byKey.get(w.spec.span.start)?.has(w) ?? false) : this.ranges.has(w);
  }

  /** Calls `fn` for every watcher whose range holds the store key `key`. */
  forEachCovering(key: string, fn: (w: Watcher) => void): void {
    const exact = this.byKey.get(key);
    if (exact !== undefined) for (const w of exact) fn(w);
    for (const w of this.ranges) if (w.covers(key)) fn(w);
  }
}
