import { Event_EventType, type Event, type Init } from '../../protocol/messages.generated.js';
import type { StoreEvent } from '../mvcc/event-log.js';
import { spanContains } from '../mvcc/key-span.js';
import type { WatchSpec } from './create-request.js';

/**
 * Where a watcher stands:
 * - `synced`: sees every new revision as it commits (its start revision may still be ahead);
 * - `unsynced`: behind the store, waiting to be caught up from history by the sync pass;
 * - `compacted`: its next revision was compacted away; it got the compaction cancel and waits
 *   (keeping its ID) for the client's cancel;
 * - `canceled`: gone.
 */
export type WatcherState = 'synced' | 'unsynced' | 'compacted' | 'canceled';

/** The stream a watcher writes to (implemented by WatchSession). */
export interface WatchOutput {
  /** Responses held back because gRPC has not taken them yet. */
  readonly backlog: number;
  /** Whether gRPC asked to wait for 'drain' before taking more. */
  readonly blocked: boolean;
  /** Queues an event response (events already filtered, at least one). */
  sendEvents(watcher: Watcher, events: Init<Event>[], headerRevision: bigint): void;
  /** Queues the compaction cancel. */
  sendCompacted(watcher: Watcher, compactRevision: bigint): void;
  /** Ends the stream with an error status (an internal failure while serving it). */
  fail(err: unknown): void;
}

/** One watcher of one stream. */
export class Watcher {
  state: WatcherState = 'unsynced';
  /** The first revision this watcher has not been given yet. */
  nextRev: bigint;
  /** Progress notify bookkeeping: no events sent since the last tick. */
  progressDue = true;

  constructor(
    readonly id: bigint,
    readonly spec: WatchSpec,
    readonly output: WatchOutput,
  ) {
    this.nextRev = spec.startRevision;
  }

  /** Whether the watcher waits for a start revision beyond `currentRevision`. */
  waitsForFuture(currentRevision: bigint): boolean {
    return this.spec.startRevision > currentRevision;
  }

  /** Whether a store key (see key-span.ts) is in the watcher's range. */
  covers(key: string): boolean {
    return spanContains(this.spec.span, key);
  }

  /**
   * The wire events for the given changes of the watcher's range: filters applied; prev_kv
   * attached (when asked) to deletes and non-create puts whose previous version is still
   * readable at mod_revision - 1, i.e. not below `compactRevision`.
   */
  toWire(events: readonly StoreEvent[], compactRevision: bigint): Init<Event>[] {
    const { noPut, noDelete, prevKv } = this.spec;
    const out: Init<Event>[] = [];
    for (const ev of events) {
      if (ev.type === 'put' ? noPut : noDelete) continue;
      const kv = ev.kv;
      const wire: Init<Event> = { type: ev.type === 'put' ? Event_EventType.PUT : Event_EventType.DELETE, kv };
      const isCreate = ev.type === 'put' && kv.create_revision === kv.mod_revision;
      if (prevKv && !isCreate && ev.prevKv !== undefined && kv.mod_revision - 1n >= compactRevision) {
        wire.prev_kv = ev.prevKv;
      }
      out.push(wire);
    }
    return out;
  }
}
