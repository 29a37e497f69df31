import type { RevisionRecord, StoreEvent } from '../mvcc/event-log.js';
import { keyString } from '../mvcc/key-span.js';
import type { MvccStore } from '../mvcc/store.js';
import { readCatchUp } from './catch-up.js';
import { MAX_WATCHERS_PER_SYNC, STREAM_BACKLOG_LIMIT, SYNC_INTERVAL_MS } from './limits.js';
import { WatchCounters } from './metrics.js';
import type { Watcher } from './watcher.js';
import { WatcherIndex } from './watcher-index.js';

/**
 * Every watcher of one server, fed from the store (etcd's watchable store):
 * - synced watchers get each committed revision at once, one response holding all of that
 *   revision's events for them;
 * - unsynced watchers (starting in the past, or demoted because their stream backed up) are
 *   caught up from the store's history by a sync pass that runs soon after one appears, then
 *   every 100 ms while any remain; it serves a watcher only while its stream keeps up, and
 *   cancels those whose next revision was compacted away.
 */
export class WatchHub {
  readonly counters = new WatchCounters();
  private readonly synced = new WatcherIndex();
  private readonly unsynced = new Set<Watcher>();
  private readonly unsubscribe: () => void;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncDue = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly store: MvccStore) {
    this.unsubscribe = store.onCommit((record) => this.notify(record));
  }

  /** The store's current revision. */
  get revision(): bigint {
    return this.store.revision;
  }

  get syncedCount(): number {
    return this.synced.size;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /** Whether a sync pass is scheduled. */
  get syncScheduled(): boolean {
    return this.syncTimer !== undefined;
  }

  /**
   * Starts feeding `w`: synced when it starts at 0 (from the next revision) or in the future,
   * else unsynced from its start revision.
   */
  add(w: Watcher): void {
    if (this.closed) return;
    const current = this.store.revision;
    const start = w.spec.startRevision;
    if (start === 0n || start > current) {
      w.nextRev = start > current + 1n ? start : current + 1n;
      w.state = 'synced';
      this.synced.add(w);
    } else {
      w.nextRev = start;
      w.state = 'unsynced';
      this.unsynced.add(w);
      this.scheduleSync(0);
    }
  }

  /** Stops feeding `w` (cancel, or its stream closed). */
  remove(w: Watcher): void {
    this.synced.delete(w);
    this.unsynced.delete(w);
  }

  /** A stream caught up with its output: unsynced watchers on it can be served again. */
  wake(): void {
    if (this.unsynced.size > 0) this.scheduleSync(0);
  }

  /** Stops for good: no more store notifications, no timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.unsynced.clear();
  }

  private notify(record: RevisionRecord): void {
    if (this.synced.size === 0) return;
    const batches = new Map<Watcher, StoreEvent[]>();
    for (const ev of record.events) {
      this.synced.forEachCovering(keyString(ev.kv.key), (w) => {
        if (w.nextRev > record.revision) return; // waits for a later start revision
        const list = batches.get(w);
        if (list === undefined) batches.set(w, [ev]);
        else list.push(ev);
      });
    }
    if (batches.size === 0) return;
    const compacted = this.store.compactRevision;
    let demoted = false;
    for (const [w, events] of batches) {
      if (w.output.backlog >= STREAM_BACKLOG_LIMIT) {
        // The stream is backed up: stop buffering for this watcher, replay from history later.
        this.synced.delete(w);
        w.state = 'unsynced';
        w.nextRev = record.revision;
        this.unsynced.add(w);
        this.counters.demotions++;
        demoted = true;
        continue;
      }
      w.nextRev = record.revision + 1n;
      try {
        const wire = w.toWire(events, compacted);
        if (wire.length > 0) w.output.sendEvents(w, wire, record.revision);
      } catch (err) {
        w.output.fail(err);
      }
    }
    if (demoted) this.scheduleSync(SYNC_INTERVAL_MS);
  }

  private scheduleSync(delayMs: number): void {
    if (this.closed) return;
    const due = Date.now() + delayMs;
    if (this.syncTimer !== undefined) {
      if (this.syncDue <= due) return;
      clearTimeout(this.syncTimer);
    }
    this.syncDue = due;
    this.syncTimer = setTimeout(() => this.runSync(), delayMs);
    this.syncTimer.unref();
  }

  private runSync(): void {
    this.syncTimer = undefined;
    this.syncDue = Number.POSITIVE_INFINITY;
    const served = this.syncPass();
    if (this.unsynced.size > 0) this.scheduleSync(served > 0 ? 0 : SYNC_INTERVAL_MS);
  }

  /** One catch-up step for up to 512 unsynced watchers whose streams keep up; returns how many. */
  private syncPass(): number {
    const current = this.store.revision;
    const compacted = this.store.compactRevision;
    let served = 0;
    for (const w of [...this.unsynced]) {
      if (served >= MAX_WATCHERS_PER_SYNC) break;
      if (!this.unsynced.has(w)) continue; // removed during this pass
      if (w.output.backlog > 0 || w.output.blocked) continue; // resumed by wake() on drain
      served++;
      try {
        this.catchUp(w, current, compacted);
      } catch (err) {
        this.remove(w);
        w.output.fail(err);
      }
    }
    return served;
  }

  /** One catch-up step of `w`: the compaction cancel, or its next batch (then synced when done). */
  private catchUp(w: Watcher, current: bigint, compacted: bigint): void {
    if (w.nextRev < compacted) {
      this.unsynced.delete(w);
      w.state = 'compacted';
      w.output.sendCompacted(w, compacted);
      return;
    }
    const batch = readCatchUp(this.store, w, current);
    w.nextRev = batch.nextRev;
    if (batch.events.length > 0) {
      const wire = w.toWire(batch.events, compacted);
      if (wire.length > 0) w.output.sendEvents(w, wire, current);
    }
    if (w.nextRev > current && w.state === 'unsynced') {
      this.unsynced.delete(w);
      w.state = 'synced';
      this.synced.add(w);
    }
  }
}
