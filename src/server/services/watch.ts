import type { ServerContext } from '../context.js';
import { registerWatchMetrics } from '../watch/metrics.js';
import { WatchHub } from '../watch/watch-hub.js';
import { WatchSession, type WatchCall } from '../watch/watch-session.js';
import type { ServiceModule } from './service-module.js';

/** Options of the Watch service. */
export interface WatchServiceOptions {
  /**
   * Progress notify interval in ms (etcd's --experimental-watch-progress-notify-interval);
   * raised to at least 100 ms; default 10 min. Each stream adds up to 10 % jitter.
   */
  readonly progressNotifyIntervalMs?: number | undefined;
}

/** The Watch service: one bidirectional `Watch` call per client stream (server-spec §9). */
export function watchService(ctx: ServerContext, options: WatchServiceOptions = {}): ServiceModule {
  const hub = new WatchHub(ctx.store);
  const sessions = new Set<WatchSession>();
  registerWatchMetrics(ctx, () => ({
    streams: hub.counters.streams,
    syncedWatchers: hub.syncedCount,
    unsyncedWatchers: hub.unsyncedCount,
    pendingResponses: hub.counters.pendingResponses,
    peakPendingResponses: hub.counters.peakPendingResponses,
    demotions: hub.counters.demotions,
    timers: hub.counters.tickers + (hub.syncScheduled ? 1 : 0),
  }));
  const closeAll = (): void => {
    for (const s of [...sessions]) s.terminate();
  };
  return {
    service: 'Watch',
    implementation: {
      Watch: (call: WatchCall) => {
        const session = new WatchSession(call, {
          hub,
          headers: ctx.headers,
          clock: ctx.clock,
          progressIntervalMs: options.progressNotifyIntervalMs,
          onClose: (s) => sessions.delete(s),
        });
        sessions.add(session);
      },
    },
    stopped: closeAll,
    close: () => {
      closeAll();
      hub.close();
    },
  };
}
