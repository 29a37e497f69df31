import type { KeyValue } from '../wire.js';
import type { KeySpan } from './key-span.js';

/** Options of a low-level range read. */
export interface RangeKeysOptions {
  /** Collect at most this many kvs (0 = all); `count` still counts every key. */
  readonly limit?: number;
  /** Count only; no kvs. */
  readonly countOnly?: boolean;
}

/** The result of a low-level range read. */
export interface RangeKeysResult {
  /** Keys alive at the read revision, ascending. */
  readonly kvs: KeyValue[];
  /** Number of keys alive in the span, ignoring limit. */
  readonly count: number;
  /** The view's current revision (what a Range response header carries). */
  readonly rev: bigint;
}

/** A consistent view of the store: the state a read or a transaction sees. */
export interface ReadView {
  /** The revision a read at revision 0 sees. */
  readonly rev: bigint;
  /** etcd's FirstRev: the compacted revision (-1 when never compacted). */
  readonly firstRev: bigint;
  /**
   * etcd's rangeKeys: `revision` > rev fails with futureRevision; <= 0 means rev; below the
   * compacted revision fails with compacted.
   */
  rangeKeys(span: KeySpan, revision: bigint, options?: RangeKeysOptions): RangeKeysResult;
  /** The key's current value in this view. */
  get(key: string): KeyValue | undefined;
}
