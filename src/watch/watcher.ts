/**
 * One watch's protocol state: its state machine on the shared stream, the resume position
 * (never from a header revision; only from delivered events, the requested start, or a
 * per-watcher progress notification that proves it synced), compaction handling, and the
 * bounded-buffer pause/resume. Items go to the watch's {@link Outlet}.
 */
import { CancelledError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type * as wire from '../protocol/messages.generated.js';
import type { Init } from '../protocol/messages.generated.js';
import type { KeyValue } from '../convert.js';
import { compactedError, cancelReasonError, toWatchEvent } from './convert.js';
import { Outlet } from './outlet.js';
import type { DrainObserver } from './outlet.js';
import type { WatchSpec } from './spec.js';
import type { WatchItem } from './types.js';

/** What a watcher needs from the stream owner (the WatchManager). */
export interface WatchHost {
  /** (Re)creates the watcher on the server from its resume point, now or once connected. */
  attach(watcher: Watcher): void;
  /** Stops the watcher on the server (cancels its current id, if any); it stays registered. */
  release(watcher: Watcher): void;
  /** Forgets an ended watcher; resolves once the server acknowledged its cancel (or cannot anymore). */
  remove(watcher: Watcher): Promise<void>;
  /** Sends one progress request on the stream (coalesced). */
  requestProgress(): void;
  /** Reads every key of a range at the current revision (resync policy); retries transient failures. */
  readState(key: Uint8Array, rangeEnd: Uint8Array | undefined, signal: AbortSignal): Promise<{ revision: bigint; kvs: KeyValue[] }>;
  /** The endpoint of the current stream, for error messages. */
  readonly endpoint: string | undefined;
}

/**
 * `pending`: to be created (on the next stream); `creating`: create sent; `active`: created
 * on the current stream; `paused`: stopped on the server while the consumer catches up;
 * `resyncing`: reading the range after a compaction; `ended`.
 */
export type WatcherState = 'pending' | 'creating' | 'active' | 'paused' | 'resyncing' | 'ended';

/** One watch's protocol side. */
export class Watcher implements DrainObserver {
  readonly spec: WatchSpec;
  readonly outlet: Outlet;
  readonly #host: WatchHost;
  state: WatcherState = 'pending';
  /** Watch id on the current stream; 0 when not registered there. */
  id = 0;
  /** Revision of the newest event or progress delivered. */
  lastRevision = 0n;
  /** Waits for the answer to a progress request. */
  wantsProgress = false;
  /** When the watch was registered (for the creation deadline); -1 once created. */
  since: number;
  /** Times the watch paused for a slow consumer (a metric). */
  pauses = 0;
  /** Lost its stream since it was last created (to announce the re-creation). */
  #disconnected = false;
  /** Revision to create from next time; 0n means "from now". */
  #next: bigint;
  /** Events below this revision were delivered already; seeing one again drops it. */
  #floor: bigint;
  #fragments: wire.Event[] | undefined;
  #onAbort: (() => void) | undefined;
  #resync: AbortController | undefined;

  constructor(host: WatchHost, spec: WatchSpec) {
    this.#host = host;
    this.spec = spec;
    this.outlet = new Outlet(this, spec.bufferSize);
    this.#next = spec.startRevision;
    this.#floor = spec.startRevision;
    this.since = Date.now();
  }

  /** Registers with the host, or ends at once when the signal is already aborted. */
  start(): void {
    const signal = this.spec.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        void this.cancel();
        return;
      }
      this.#onAbort = () => void this.cancel();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#host.attach(this);
  }

  // ---------------------------------------------------------------------------------------------
  // From the host (stream events).

  /** The create request for watch id `id`; the watcher is then `creating`. */
  createRequest(id: number): Init<wire.WatchCreateRequest> {
    this.id = id;
    this.state = 'creating';
    // The server replays from #next: anything older seen on this stream is a duplicate.
    if (this.#next > this.#floor) this.#floor = this.#next;
    const spec = this.spec;
    return {
      key: spec.key,
      range_end: spec.rangeEnd,
      start_revision: this.#next,
      prev_kv: spec.prevKv,
      progress_notify: spec.progressNotify,
      filters: spec.filters as wire.WatchCreateRequest_FilterType[],
      watch_id: BigInt(id),
    };
  }

  /** The server created the watch; `revision` is the created response's header revision. */
  onCreated(revision: bigint): void {
    if (this.state !== 'creating') return;
    this.state = 'active';
    // From now: the first revision it can report is the one after the creation's header.
    if (this.#next === 0n) this.#next = revision + 1n;
    if (this.since >= 0) {
      this.since = -1;
      this.outlet.markReady();
    } else if (this.#disconnected) {
      this.#disconnected = false;
      this.outlet.notify('reconnected');
    }
    if (this.wantsProgress) this.#host.requestProgress();
  }

  /** The server refused to create the watch. The host already dropped its id. */
  onCreateFailed(error: EtcdError): void {
    this.id = 0;
    void this.#end(error, error, false);
  }

  /** A response for this watcher's id (not a `created` one). */
  onResponse(res: wire.WatchResponse): void {
    if (this.state !== 'active' && this.state !== 'creating') return;
    if (res.canceled) {
      if (res.compact_revision > 0n) {
        this.#onCompacted(res.compact_revision);
      } else {
        const error = cancelReasonError(res.cancel_reason, this.#host.endpoint);
        void this.#end(error, error, false);
      }
      return;
    }
    let events = res.events;
    if (res.fragment) {
      // A revision split over several messages: deliver it whole with the last piece.
      this.#fragments = this.#fragments === undefined ? events.slice() : this.#fragments.concat(events);
      return;
    }
    if (this.#fragments !== undefined) {
      events = this.#fragments.concat(events);
      this.#fragments = undefined;
    }
    if (events.length === 0) this.#onProgressNotify(res.header?.revision ?? 0n);
    else this.#onEvents(events);
  }

  /** The answer to a progress request (watch id -1), at `revision`. */
  onProgressAnswer(revision: bigint): void {
    if (!this.wantsProgress || this.state !== 'active') return;
    this.wantsProgress = false;
    // Informational only: etcd 3.4 answers without waiting for the watcher to be synced,
    // so it never moves the resume point.
    const at = revision > this.lastRevision ? revision : this.lastRevision;
    this.lastRevision = at;
    this.outlet.push({ type: 'progress', revision: at });
  }

  /** The stream broke: the watcher waits for the next stream. */
  onDisconnected(error: EtcdError): void {
    if (this.state !== 'creating' && this.state !== 'active') return;
    const wasCreated = this.since < 0;
    this.state = 'pending';
    this.id = 0;
    this.#fragments = undefined;
    if (wasCreated && !this.#disconnected) {
      this.#disconnected = true;
      this.outlet.notify('disconnected', error);
    }
  }

  /** Ends the watch with an error (fatal stream error, creation deadline). */
  fail(error: EtcdError): void {
    void this.#end(error, error, false);
  }

  /** Ends the watch because the client is closing. */
  close(reason: EtcdError): void {
    void this.#end(reason, undefined, true);
  }

  // ---------------------------------------------------------------------------------------------
  // From the consumer.

  /** Cancels the watch; resolves once the server acknowledged (or the stream is gone). */
  cancel(): Promise<void> {
    return this.#end(undefined, undefined, true);
  }

  requestProgress(): void {
    if (this.state === 'ended') return;
    this.wantsProgress = true;
    if (this.state === 'active') this.#host.requestProgress();
  }

  /** The consumer took items: resume a paused watch once its queue is low enough. */
  onDrained(): void {
    if (this.state === 'paused' && this.outlet.drained) {
      this.state = 'pending';
      this.#host.attach(this);
    }
  }

  // ---------------------------------------------------------------------------------------------

  #onEvents(events: readonly wire.Event[]): void {
    const outlet = this.outlet;
    const capacity = this.spec.bufferSize;
    const n = events.length;
    let i = 0;
    while (i < n) {
      const first = events[i]!;
      if (first.kv === undefined) {
        i += 1;
        continue;
      }
      const revision = first.kv.mod_revision;
      let j = i + 1;
      while (j < n && events[j]!.kv?.mod_revision === revision) j++;
      if (revision < this.#floor) {
        i = j; // delivered before (defensive: a correct server never repeats)
        continue;
      }
      // One revision is delivered whole or not at all; it may exceed the buffer only alone.
      if (outlet.queuing && outlet.queued > 0 && outlet.queued + (j - i) > capacity) {
        this.#pause();
        return;
      }
      for (let k = i; k < j; k++) {
        const event = events[k]!;
        if (event.kv !== undefined) outlet.push(toWatchEvent(event as wire.Event & { kv: wire.KeyValue }));
      }
      this.#next = this.#floor = revision + 1n;
      this.lastRevision = revision;
      if (this.state !== 'active' && this.state !== 'creating') return; // a listener cancelled
      i = j;
    }
  }

  /** A per-watcher progress notification: etcd sends it only to synced watchers. */
  #onProgressNotify(revision: bigint): void {
    if (revision === 0n || this.state !== 'active') return;
    if (revision + 1n > this.#next) this.#next = revision + 1n;
    if (this.#next > this.#floor) this.#floor = this.#next;
    if (revision < this.lastRevision) return;
    this.lastRevision = revision;
    // A marker, not data: skipped when the consumer is already behind.
    if (!this.outlet.queuing || this.outlet.queued < this.spec.bufferSize) this.outlet.push({ type: 'progress', revision });
  }

  #onCompacted(compactRevision: bigint): void {
    // The server keeps the id until cancelled: release it.
    this.#host.release(this);
    this.#fragments = undefined;
    this.#push({ type: 'compacted', compactRevision });
    if (this.state === 'ended') return;
    if (this.spec.onCompacted === 'error') {
      void this.#end(compactedError(this.#host.endpoint), undefined, false);
      return;
    }
    this.#startResync();
  }

  #startResync(): void {
    this.state = 'resyncing';
    const controller = new AbortController();
    this.#resync = controller;
    this.#host.readState(this.spec.key, this.spec.rangeEnd, controller.signal).then(
      ({ revision, kvs }) => {
        if (this.#resync !== controller || this.state !== 'resyncing') return;
        this.#resync = undefined;
        this.#push({ type: 'resync', revision, kvs });
        this.lastRevision = revision;
        this.#next = this.#floor = revision + 1n;
        if (this.state !== 'resyncing') return;
        this.state = 'paused';
        this.onDrained();
      },
      (error: EtcdError) => {
        if (this.#resync !== controller || this.state !== 'resyncing') return;
        this.#resync = undefined;
        this.fail(error);
      },
    );
  }

  /** Stops on the server until the consumer drains its queue; resumes from #next then. */
  #pause(): void {
    this.pauses += 1;
    this.#host.release(this);
    this.state = 'paused';
    this.#fragments = undefined;
  }

  #push(item: WatchItem): void {
    this.outlet.push(item);
  }

  #end(reason: EtcdError | undefined, failure: EtcdError | undefined, discard: boolean): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    this.state = 'ended';
    this.#resync?.abort();
    this.#resync = undefined;
    this.#fragments = undefined;
    if (this.#onAbort !== undefined) this.spec.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = undefined;
    const removed = this.#host.remove(this);
    this.outlet.end(reason, failure, discard, notCreatedError);
    return removed;
  }
}

function notCreatedError(): CancelledError {
  return new CancelledError({
    code: GrpcCode.CANCELLED,
    etcdMessage: 'the watch ended before etcd created it',
    retryable: false,
  });
}
