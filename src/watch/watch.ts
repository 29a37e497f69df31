/**
 * The public Watch: a persistent watch on a key or range, consumed by listeners, by async
 * iteration, or both.
 */
import type { Outlet } from './outlet.js';
import type { WatchItem, WatchListenerKind, WatchListeners } from './types.js';
import type { Watcher } from './watcher.js';

const done: IteratorResult<WatchItem> = Object.freeze({ done: true, value: undefined });

/** Internal counters of one watch (for tests and diagnostics; not part of the public API). */
export interface WatchInternals {
  readonly state: string;
  /** Items queued for the iterator now. */
  readonly queued: number;
  /** Most items ever queued at once (never above `bufferSize`, except one revision alone). */
  readonly maxQueued: number;
  /** Times the watch paused on the server for a slow consumer. */
  readonly pauses: number;
}

let internalsOf: (watch: Watch) => WatchInternals;

/** Reads a watch's internal counters (tests and diagnostics). */
export function watchInternals(watch: Watch): WatchInternals {
  return internalsOf(watch);
}

/**
 * A persistent watch created by `client.watch(key, options)`.
 *
 * It survives connection failures: it resumes on the next stream from the revision after the
 * last one it delivered, so events are never lost, repeated or reordered. Items arrive in
 * revision order; all events of one revision arrive together.
 *
 * ```ts
 * const watch = client.watch('config/', { prefix: true });
 * for await (const item of watch) {
 *   if (item.type === 'put') console.log(item.kv.keyText, '=', item.kv.valueText);
 * }
 * ```
 */
export class Watch implements AsyncIterable<WatchItem> {
  readonly #watcher: Watcher;

  static {
    internalsOf = (watch) => {
      const watcher = watch.#watcher;
      return {
        state: watcher.state,
        queued: watcher.outlet.queued,
        maxQueued: watcher.outlet.maxQueued,
        pauses: watcher.pauses,
      };
    };
  }

  /** @internal Created by `client.watch`. */
  constructor(watcher: Watcher) {
    this.#watcher = watcher;
  }

  get #outlet(): Outlet {
    return this.#watcher.outlet;
  }

  /**
   * Resolves once etcd created the watch (the first time). Rejects with the typed error when
   * creation fails (e.g. `PermissionDeniedError`), when no endpoint could be reached within
   * the dial timeout (`UnavailableError`), or with `CancelledError` if the watch ended first.
   * Never causes an unhandled rejection when nobody awaits it.
   */
  get ready(): Promise<void> {
    return this.#outlet.ready;
  }

  /** Revision of the last event, progress or resync delivered; `0n` before any. */
  get lastRevision(): bigint {
    return this.#watcher.lastRevision;
  }

  /** True once the watch ended (cancelled, failed, compacted under `'error'`, client closed). */
  get ended(): boolean {
    return this.#outlet.ended;
  }

  /**
   * Adds a listener. Listeners run synchronously as items arrive, in revision order; a
   * listener that throws is reported as a process warning and does not affect the watch.
   */
  on<K extends WatchListenerKind>(kind: K, listener: WatchListeners[K]): this {
    this.#outlet.on(kind, listener as never);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<K extends WatchListenerKind>(kind: K, listener: WatchListeners[K]): this {
    this.#outlet.off(kind, listener as never);
    return this;
  }

  /**
   * Asks etcd for a `progress` item: the revision the watch has caught up to. etcd 3.5+ does
   * not answer while a watch on the stream is still catching up on history (ask again later).
   */
  requestProgress(): void {
    this.#watcher.requestProgress();
  }

  /** Cancels the watch: the iterator completes, `end` listeners run. Resolves once etcd acknowledged. */
  cancel(): Promise<void> {
    return this.#watcher.cancel();
  }

  /**
   * Iterates the items (one iteration at a time). Leaving the loop early cancels the watch.
   * The iterator throws the watch's error if it fails; it completes when the watch is
   * cancelled, the client closes, or after `compacted` under the `'error'` policy.
   */
  [Symbol.asyncIterator](): AsyncIterator<WatchItem> {
    const outlet = this.#outlet;
    const iterator = outlet.iterate();
    return {
      next: () => iterator.next(),
      return: async () => {
        outlet.stopIterating();
        await this.cancel();
        return done;
      },
    };
  }
}
