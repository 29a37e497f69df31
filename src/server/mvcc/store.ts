import { etcdError } from '../errors.js';
import type { KeyValue } from '../wire.js';
import { Crc32c } from './crc32c.js';
import { EventLog, type RevisionRecord } from './event-log.js';
import { KeyIndex } from './key-index.js';
import { keyString, type KeySpan } from './key-span.js';
import { storedSize } from './key-value.js';
import { noLeases, type LeaseAttachments } from './lease-hook.js';
import type { RangeKeysOptions, RangeKeysResult, ReadView } from './read-view.js';
import { rangeKeys } from './range-keys.js';
import { WriteTxn } from './write-txn.js';

/** Called synchronously after each committed revision with its events. */
export type CommitListener = (record: RevisionRecord) => void;

/** Result of {@link MvccStore.hashKV}. */
export interface KvHash {
  readonly hash: number;
  /** The revision hashed. */
  readonly revision: bigint;
  /** The compacted revision at hashing time (-1 when never compacted, as etcd). */
  readonly compactRevision: bigint;
}

const revBytes = (rev: bigint): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(rev);
  return b;
};

/**
 * The multi-version key-value store: revision 1 when empty, one revision per committing
 * write, history for past reads until compaction, and a revision-ordered event log.
 */
export class MvccStore {
  private currentRev = 1n;
  /** etcd's compactMainRev: -1 until the first compaction. */
  private compactRev = -1n;
  private readonly index = new KeyIndex();
  private readonly log = new EventLog();
  private readonly listeners = new Set<CommitListener>();
  private writing = false;
  private leaseHook: LeaseAttachments = noLeases;
  private bytes = 0;

  /** The current revision. */
  get revision(): bigint {
    return this.currentRev;
  }

  /** The compacted revision; -1n before the first compaction (etcd's convention). */
  get compactRevision(): bigint {
    return this.compactRev;
  }

  /** Approximate bytes of every stored change (what compaction can free). */
  get bytesInUse(): number {
    return this.bytes;
  }

  /** Number of keys with stored history (live or not yet compacted). */
  get indexedKeys(): number {
    return this.index.size;
  }

  /** The lease hook in use (see lease-hook.ts). */
  get leases(): LeaseAttachments {
    return this.leaseHook;
  }

  /** Installs the Lease service's hook. */
  setLeaseAttachments(hook: LeaseAttachments): void {
    this.leaseHook = hook;
  }

  /** A read view of the current state. */
  read(): ReadView {
    const rev = this.currentRev;
    const firstRev = this.compactRev;
    const index = this.index;
    return {
      rev,
      firstRev,
      rangeKeys: (span: KeySpan, revision: bigint, options?: RangeKeysOptions): RangeKeysResult =>
        rangeKeys(index, span, revision, rev, firstRev, options),
      get: (key: string): KeyValue | undefined => index.get(key)?.latest(),
    };
  }

  /** The current value of one key. */
  get(key: Uint8Array): KeyValue | undefined {
    return this.index.get(keyString(key))?.latest();
  }

  /**
   * Runs `body` in a write transaction. If it returns, its changes commit as one new revision
   * (none when nothing changed) and listeners are told; if it throws, everything is rolled
   * back and the error propagates.
   */
  write<T>(body: (txn: WriteTxn) => T): T {
    if (this.writing) throw new Error('MvccStore.write is not reentrant');
    this.writing = true;
    const txn = new WriteTxn(this.index, this.currentRev, this.compactRev);
    let result: T;
    try {
      result = body(txn);
    } catch (err) {
      txn.rollback();
      this.writing = false;
      throw err;
    }
    this.writing = false;
    if (txn.changed) this.commit(txn);
    return result;
  }

  private commit(txn: WriteTxn): void {
    const { events, moves } = txn.result();
    this.currentRev = txn.beginRev + 1n;
    const record: RevisionRecord = { revision: this.currentRev, events };
    this.log.append(record);
    for (const ev of events) this.bytes += storedSize(ev.kv);
    if (moves.length > 0) this.leaseHook.apply(moves);
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // a listener's failure must not undo or block the commit
      }
    }
  }

  /** Subscribes to committed revisions; returns the unsubscribe function. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Committed revisions from `revision` on (oldest first, at most `maxRecords`). Callers check
   * `revision` against {@link compactRevision} first.
   */
  recordsFrom(revision: bigint, maxRecords?: number): RevisionRecord[] {
    return this.log.from(revision, maxRecords);
  }

  /**
   * Compacts at `revision`: reads below it fail from now on. Fails with compacted when
   * `revision` <= the compacted revision, futureRevision when above the current one.
   */
  compact(revision: bigint): void {
    if (revision <= this.compactRev) throw etcdError('compacted');
    if (revision > this.currentRev) throw etcdError('futureRevision');
    this.compactRev = revision;
    const emptied: string[] = [];
    this.index.forEach((h) => {
      for (const kv of h.compact(revision)) this.bytes -= storedSize(kv);
      if (h.isEmpty()) emptied.push(h.key);
    });
    for (const key of emptied) this.index.remove(key);
    const index = this.index;
    this.log.compact(revision, (ev) => index.get(keyString(ev.kv.key))?.entries[0] === ev.kv);
  }

  /**
   * A CRC-32C over every stored change at or below `revision` (0 = current), in key order:
   * equal states hash equally. Fails like etcd's HashKV for compacted/future revisions.
   */
  hashKV(revision = 0n): KvHash {
    const at = revision <= 0n ? this.currentRev : revision;
    if (at > this.currentRev) throw etcdError('futureRevision');
    if (revision > 0n && at <= this.compactRev) throw etcdError('compacted');
    const crc = new Crc32c();
    this.index.forEach((h) => {
      for (const kv of h.entries) {
        if (kv.mod_revision > at) break;
        crc.update(kv.key).update(revBytes(kv.mod_revision)).update(revBytes(kv.version)).update(kv.value);
      }
    });
    return { hash: crc.digest(), revision: at, compactRevision: this.compactRev };
  }
}
