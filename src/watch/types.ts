/**
 * Public types of the watch API.
 */
import type { KeyValue } from '../convert.js';
import type { EtcdError } from '../errors.js';
import type { Int64, RangeSelector } from '../kv/types.js';

/** What happens when the watch's next revision has been compacted away. */
export type CompactionPolicy = 'error' | 'resync';

/** Options of `client.watch(key, options)`. */
export interface WatchOptions extends RangeSelector {
  /**
   * First revision to report (inclusive). Default: changes after the watch is created.
   * Older revisions are replayed from history (unless compacted).
   */
  startRevision?: Int64;
  /** Attach the key's previous value to each event (when etcd still has it). */
  prevKv?: boolean;
  /** Drop events of a kind on the server. */
  filters?: { noPut?: boolean; noDelete?: boolean };
  /** Ask the server for periodic progress items while the watch is idle (etcd: every 10 min). */
  progressNotify?: boolean;
  /**
   * On compaction: `'error'` (default) delivers a `compacted` item and ends the watch;
   * `'resync'` delivers `compacted`, then a `resync` item with the current state of the range,
   * then continues with the events after it.
   */
  onCompacted?: CompactionPolicy;
  /**
   * Most items held for a slow consumer (default 1000). Beyond it the watch pauses on the
   * server, keeping what it holds, and resumes where it stopped once the consumer catches up.
   */
  bufferSize?: number;
  /** Aborting cancels the watch (the iterator completes). */
  signal?: AbortSignal;
}

/** A key was written (`put`) or deleted (`delete`). */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** The key after the change; for a delete, the key with its deletion revision and no value. */
  readonly kv: KeyValue;
  /** The key before the change, when `prevKv` was asked for and etcd still had it. */
  readonly prevKv?: KeyValue | undefined;
  /** Revision of the change (`kv.modRevision`). */
  readonly revision: bigint;
}

/** Every event up to `revision` has been delivered. */
export interface WatchProgress {
  readonly type: 'progress';
  readonly revision: bigint;
}

/** The revisions the watch needed next were compacted away (etcd's ErrCompacted). */
export interface WatchCompacted {
  readonly type: 'compacted';
  /** The store's compaction revision: history before it is gone. */
  readonly compactRevision: bigint;
}

/**
 * With `onCompacted: 'resync'`, after `compacted`: every key of the watched range as read at
 * `revision`. Events continue from `revision + 1`.
 */
export interface WatchResync {
  readonly type: 'resync';
  readonly revision: bigint;
  readonly kvs: KeyValue[];
}

/** What a watch delivers, in order. */
export type WatchItem = WatchEvent | WatchProgress | WatchCompacted | WatchResync;

/** Listener signatures by kind, for `watch.on(kind, listener)`. */
export interface WatchListeners {
  /** Every put and delete. */
  event: (event: WatchEvent) => void;
  /** Puts only. */
  put: (event: WatchEvent) => void;
  /** Deletes only. */
  delete: (event: WatchEvent) => void;
  progress: (item: WatchProgress) => void;
  compacted: (item: WatchCompacted) => void;
  resync: (item: WatchResync) => void;
  /** The watch failed and ended (e.g. permission denied at creation). Not called for compaction or cancel. */
  error: (error: EtcdError) => void;
  /**
   * The watch ended, once: `undefined` when cancelled, `ClientClosedError` when the client
   * closed, `CompactedError` after a `compacted` item under the `'error'` policy, or the error.
   */
  end: (reason: EtcdError | undefined) => void;
  /** The connection to etcd broke; the watch resumes by itself where it stopped. */
  disconnected: (error: EtcdError) => void;
  /** The watch is registered again on the server after a disconnection. */
  reconnected: () => void;
}

/** A listener kind. */
export type WatchListenerKind = keyof WatchListeners;
