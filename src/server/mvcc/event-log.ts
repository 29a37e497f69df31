import type { KeyValue } from '../wire.js';

/** One change inside a revision. */
export interface StoreEvent {
  readonly type: 'put' | 'delete';
  /** The key after the change; for a delete, the tombstone (key and mod_revision only). */
  readonly kv: KeyValue;
  /** The key as it was at revision - 1 (before this revision), if it existed then. */
  readonly prevKv: KeyValue | undefined;
}

/** Every change of one revision, in sub-revision order. */
export interface RevisionRecord {
  readonly revision: bigint;
  readonly events: readonly StoreEvent[];
}

/** The revision-ordered log of committed changes, trimmed by compaction. */
export class EventLog {
  private records: RevisionRecord[] = [];

  append(record: RevisionRecord): void {
    this.records.push(record);
  }

  /** Oldest revision still in the log, or undefined when empty. */
  get firstRevision(): bigint | undefined {
    return this.records[0]?.revision;
  }

  /** Records with revision >= `revision`, oldest first, at most `maxRecords` of them. */
  from(revision: bigint, maxRecords = Number.POSITIVE_INFINITY): RevisionRecord[] {
    const r = this.records;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return r.slice(lo, Number.isFinite(maxRecords) ? lo + maxRecords : undefined);
  }

  /**
   * Drops records below `revision`; in the record at `revision` keeps only the events
   * `keep` accepts (compaction removes tombstones at exactly that revision).
   */
  compact(revision: bigint, keep: (event: StoreEvent) => boolean): void {
    const kept = this.from(revision);
    const first = kept[0];
    if (first !== undefined && first.revision === revision) {
      const events = first.events.filter(keep);
      if (events.length === 0) kept.shift();
      else if (events.length < first.events.length) kept[0] = { revision, events };
    }
    this.records = kept;
  }
}
