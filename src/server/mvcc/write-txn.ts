import type { KeyValue } from '../wire.js';
import type { StoreEvent } from './event-log.js';
import type { KeyHistory } from './key-history.js';
import type { KeyIndex } from './key-index.js';
import { keyString, type KeySpan } from './key-span.js';
import { tombstone } from './key-value.js';
import type { LeaseMove } from './lease-hook.js';
import type { RangeKeysOptions, RangeKeysResult, ReadView } from './read-view.js';
import { rangeKeys } from './range-keys.js';

interface Change {
  readonly history: KeyHistory;
  readonly event: StoreEvent;
}

/**
 * One write transaction: every change goes to revision beginRev + 1, sub-revisions in call
 * order. Changes are visible to later reads of the same transaction at once; the store
 * commits (one revision) or rolls back (nothing happened) at the end.
 */
export class WriteTxn implements ReadView {
  private readonly changes: Change[] = [];
  private readonly moves: LeaseMove[] = [];

  constructor(
    private readonly index: KeyIndex,
    /** The store revision before this transaction. */
    readonly beginRev: bigint,
    readonly firstRev: bigint,
  ) {}

  /** beginRev, or beginRev + 1 once something changed. */
  get rev(): bigint {
    return this.changes.length > 0 ? this.beginRev + 1n : this.beginRev;
  }

  /** Whether anything changed so far. */
  get changed(): boolean {
    return this.changes.length > 0;
  }

  rangeKeys(span: KeySpan, revision: bigint, options?: RangeKeysOptions): RangeKeysResult {
    return rangeKeys(this.index, span, revision, this.rev, this.firstRev, options);
  }

  get(key: string): KeyValue | undefined {
    return this.index.get(key)?.latest();
  }

  /**
   * Writes `key` (its bytes are stored as given: pass a private copy). Returns the new
   * KeyValue.
   */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): KeyValue {
    const rev = this.beginRev + 1n;
    const history = this.index.obtain(keyString(key));
    const current = history.latest();
    const kv: KeyValue = {
      key,
      create_revision: current === undefined ? rev : current.create_revision,
      mod_revision: rev,
      version: current === undefined ? 1n : current.version + 1n,
      value,
      lease,
    };
    this.record(history, { type: 'put', kv, prevKv: history.at(this.beginRev) });
    const from = current?.lease ?? 0n;
    if (from !== lease) this.moves.push({ key, from, to: lease });
    return kv;
  }

  /** Deletes every live key in `span` (ascending); returns what was deleted. */
  deleteRange(span: KeySpan): KeyValue[] {
    const rev = this.beginRev + 1n;
    const victims: KeyHistory[] = [];
    const deleted: KeyValue[] = [];
    this.index.forEachInSpan(span, (h) => {
      const kv = h.latest();
      if (kv !== undefined) {
        victims.push(h);
        deleted.push(kv);
      }
    });
    for (let i = 0; i < victims.length; i++) {
      const h = victims[i]!;
      const prev = deleted[i]!;
      this.record(h, { type: 'delete', kv: tombstone(prev.key, rev), prevKv: h.at(this.beginRev) });
      if (prev.lease !== 0n) this.moves.push({ key: prev.key, from: prev.lease, to: 0n });
    }
    return deleted;
  }

  private record(history: KeyHistory, event: StoreEvent): void {
    history.entries.push(event.kv);
    this.changes.push({ history, event });
  }

  /** The events and lease moves of this transaction, in sub-revision order. */
  result(): { events: StoreEvent[]; moves: LeaseMove[] } {
    return { events: this.changes.map((c) => c.event), moves: this.moves };
  }

  /** Undoes every change (newest first). */
  rollback(): void {
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const { history } = this.changes[i]!;
      history.entries.pop();
      if (history.isEmpty()) this.index.remove(history.key);
    }
    this.changes.length = 0;
    this.moves.length = 0;
  }
}
