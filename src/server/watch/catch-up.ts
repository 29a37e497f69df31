import type { RevisionRecord, StoreEvent } from '../mvcc/event-log.js';
import { keyString } from '../mvcc/key-span.js';
import { MAX_RECORDS_SCANNED_PER_WATCHER, MAX_REVISIONS_PER_BATCH } from './limits.js';
import type { Watcher } from './watcher.js';

/** The store's history, as the catch-up reads it. */
export interface History {
  recordsFrom(revision: bigint, maxRecords?: number): RevisionRecord[];
}

/** One catch-up step of an unsynced watcher. */
export interface CatchUpBatch {
  /** The watcher's events (filters not applied), whole revisions only, oldest first. */
  readonly events: StoreEvent[];
  /** The watcher's next revision after this batch (current + 1 when fully caught up). */
  readonly nextRev: bigint;
}

const CHUNK = 1000;

/**
 * Reads the next catch-up batch of `w` from history: its events from `w.nextRev` up to
 * `current`, at most {@link MAX_REVISIONS_PER_BATCH} distinct revisions holding events, and
 * at most {@link MAX_RECORDS_SCANNED_PER_WATCHER} revisions looked at. A revision is never
 * split between batches.
 */
export function readCatchUp(history: History, w: Watcher, current: bigint): CatchUpBatch {
  const events: StoreEvent[] = [];
  let revisions = 0;
  let rev = w.nextRev;
  let scanned = 0;
  while (rev <= current && scanned < MAX_RECORDS_SCANNED_PER_WATCHER) {
    const chunk = history.recordsFrom(rev, Math.min(CHUNK, MAX_RECORDS_SCANNED_PER_WATCHER - scanned));
    if (chunk.length === 0) return { events, nextRev: current + 1n };
    for (const record of chunk) {
      if (record.revision > current) return { events, nextRev: current + 1n };
      scanned++;
      const before = events.length;
      for (const ev of record.events) if (w.covers(keyString(ev.kv.key))) events.push(ev);
      if (events.length > before && ++revisions > MAX_REVISIONS_PER_BATCH) {
        events.length = before;
        return { events, nextRev: record.revision };
      }
      rev = record.revision + 1n;
    }
  }
  return { events, nextRev: rev };
}
