import type { KeyValue } from '../wire.js';
import { isTombstone } from './key-value.js';

/**
 * Every stored change of one key, oldest first: puts and tombstones in (revision,
 * sub-revision) order. Kept until compaction drops what no read can reach.
 */
export class KeyHistory {
  readonly entries: KeyValue[] = [];

  constructor(
    /** The store key (latin1). */
    readonly key: string,
  ) {}

  /** The newest change, alive or not. */
  last(): KeyValue | undefined {
    return this.entries[this.entries.length - 1];
  }

  /** The key's value after every stored change, or undefined when deleted. */
  latest(): KeyValue | undefined {
    const kv = this.last();
    return kv === undefined || isTombstone(kv) ? undefined : kv;
  }

  /** The key as a read at `revision` sees it, or undefined when absent then. */
  at(revision: bigint): KeyValue | undefined {
    const e = this.entries;
    for (let i = e.length - 1; i >= 0; i--) {
      const kv = e[i]!;
      if (kv.mod_revision <= revision) return isTombstone(kv) ? undefined : kv;
    }
    return undefined;
  }

  /**
   * Drops (and returns) history below `revision`: the newest change at or before it is kept unless it is a
   * tombstone, which goes together with everything older.
   */
  compact(revision: bigint): KeyValue[] {
    const e = this.entries;
    let i = e.length - 1;
    while (i >= 0 && e[i]!.mod_revision > revision) i--;
    if (i < 0) return [];
    return e.splice(0, isTombstone(e[i]!) ? i + 1 : i);
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }
}
