import type { ServerContext } from '../context.js';

/** Internal counters of the Watch service (for tests and diagnostics; not a public API). */
export interface WatchMetrics {
  /** Open Watch calls. */
  readonly streams: number;
  /** Watchers that see new revisions as they commit. */
  readonly syncedWatchers: number;
  /** Watchers waiting to be caught up from history. */
  readonly unsyncedWatchers: number;
  /** Responses held back by the server because gRPC has not accepted them yet, now. */
  readonly pendingResponses: number;
  /** The highest {@link pendingResponses} seen. */
  readonly peakPendingResponses: number;
  /** Synced watchers moved back to catch-up because their stream was backed up. */
  readonly demotions: number;
  /** Timers the Watch service holds now (sync pass, progress tickers); 0 once closed. */
  readonly timers: number;
}

/** The mutable counters behind {@link WatchMetrics}. */
export class WatchCounters {
  streams = 0;
  pendingResponses = 0;
  peakPendingResponses = 0;
  demotions = 0;
  /** Progress tickers running. */
  tickers = 0;

  /** Adjusts the held-back response count by `delta`. */
  pending(delta: number): void {
    this.pendingResponses += delta;
    if (this.pendingResponses > this.peakPendingResponses) this.peakPendingResponses = this.pendingResponses;
  }
}

const registry = new WeakMap<ServerContext, () => WatchMetrics>();

/** @internal Called by the Watch service module for its server. */
export function registerWatchMetrics(ctx: ServerContext, snapshot: () => WatchMetrics): void {
  registry.set(ctx, snapshot);
}

/**
 * @internal The Watch service counters of a server (`watchMetrics(server.serverContext)`);
 * undefined when the server has no Watch service.
 */
export function watchMetrics(ctx: ServerContext): WatchMetrics | undefined {
  return registry.get(ctx)?.();
}
