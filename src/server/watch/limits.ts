/**
 * Watch limits and intervals. Values follow etcd's defaults (server-spec §9, §14) unless noted
 * as ours (the backpressure bounds, which etcd expresses as its 128-slot channel).
 */

/** How often unsynced watchers are caught up from history when nothing wakes the sync sooner. */
export const SYNC_INTERVAL_MS = 100;

/** Unsynced watchers served per sync pass (etcd's maxWatchersPerSync). */
export const MAX_WATCHERS_PER_SYNC = 512;

/** Distinct revisions in one catch-up response (etcd's watchBatchMaxRevs). */
export const MAX_REVISIONS_PER_BATCH = 1000;

/** History records one watcher may scan in one sync pass (ours: keeps a pass short). */
export const MAX_RECORDS_SCANNED_PER_WATCHER = 20_000;

/** Fragmenting threshold: max-request-bytes (1.5 MiB) + 512 KiB of gRPC overhead. */
export const MAX_RESPONSE_BYTES = 1572864 + 524288;

/**
 * Responses a stream may hold back (not yet accepted by gRPC) before a synced watcher with new
 * events is demoted to catch up from history later (etcd's 128-slot watch channel).
 */
export const STREAM_BACKLOG_LIMIT = 128;

/**
 * Responses a stream hands to gRPC before it waits for 'drain' (ours). gRPC's own buffer
 * reports full at 16; going on to 64 lets a burst of events leave in one write (see
 * grpc/batched-writes.ts), as etcd's gRPC writer sends everything pending, while staying
 * under etcd's 128-response watch channel.
 */
export const GRPC_BUFFERED_RESPONSES = 64;

/** Held-back responses above which the stream stops reading requests until it drains. */
export const READ_PAUSE_BACKLOG = 256;

/** etcd's default progress notify interval (10 min). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;

/** etcd's minimum progress notify interval. */
export const MIN_PROGRESS_INTERVAL_MS = 100;
