import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Event, Init, WatchRequest, WatchResponse } from '../../protocol/messages.generated.js';
import { watchCancelReasons } from '../../protocol/error-table.js';
import type { Clock, ClockTimer } from '../clock.js';
import { etcdError } from '../errors.js';
import type { HeaderFactory } from '../grpc/header.js';
import { batchedWriter } from '../grpc/batched-writes.js';
import { toServiceError } from '../grpc/status.js';
import { checkCreateRequest } from './create-request.js';
import { fragmentResponse } from './fragment.js';
import { GRPC_BUFFERED_RESPONSES, MAX_RESPONSE_BYTES, READ_PAUSE_BACKLOG, STREAM_BACKLOG_LIMIT } from './limits.js';
import { Outbox } from './outbox.js';
import { progressInterval } from './progress-interval.js';
import type { WatchHub } from './watch-hub.js';
import { WatchIds } from './watch-ids.js';
import { Watcher, type WatchOutput } from './watcher.js';

/** The watch ID etcd uses for stream-wide responses and failed creates. */
const INVALID_WATCH_ID = -1n;

export type WatchCall = ServerDuplexStream<WatchRequest, Init<WatchResponse>>;

export interface WatchSessionDeps {
  readonly hub: WatchHub;
  readonly headers: HeaderFactory;
  /** Drives the progress notify ticks. */
  readonly clock: Clock;
  /** The configured progress notify interval (ms), undefined for etcd's default. */
  readonly progressIntervalMs: number | undefined;
  /** Called once when the session has closed. */
  readonly onClose: (session: WatchSession) => void;
}

/**
 * One Watch call: reads create/cancel/progress requests, owns the call's watchers and their
 * IDs, and writes their responses in order through an {@link Outbox}. A client half-close
 * does not end it; cancellation (by the client or the server stopping) drops every watcher.
 */
export class WatchSession implements WatchOutput {
  private readonly watchers = new Map<bigint, Watcher>();
  private readonly ids = new WatchIds();
  private readonly outbox: Outbox;
  private ticker: ClockTimer | undefined;
  private tickEveryMs = 0;
  private readPaused = false;
  private open = true;

  constructor(
    private readonly call: WatchCall,
    private readonly deps: WatchSessionDeps,
  ) {
    this.outbox = new Outbox(batchedWriter(call, GRPC_BUFFERED_RESPONSES), deps.hub.counters);
    deps.hub.counters.streams++;
    call.on('data', (req: WatchRequest) => this.receive(req));
    call.on('drain', () => this.drained());
    call.on('cancelled', () => this.close());
    call.on('error', () => this.close());
    call.on('close', () => this.close());
  }

  get backlog(): number {
    return this.outbox.backlog;
  }

  get blocked(): boolean {
    return this.outbox.blocked;
  }

  sendEvents(watcher: Watcher, events: Init<Event>[], headerRevision: bigint): void {
    const resp: Init<WatchResponse> = {
      header: this.deps.headers.make(headerRevision),
      watch_id: watcher.id,
      events,
    };
    const pieces = watcher.spec.fragment ? fragmentResponse(resp, MAX_RESPONSE_BYTES) : [resp];
    for (const piece of pieces) this.outbox.push(piece, watcher);
    watcher.progressDue = false;
    this.checkReadPressure();
  }

  sendCompacted(watcher: Watcher, compactRevision: bigint): void {
    // etcd sends this one with a header whose revision is 0 (absent).
    this.outbox.push(
      { header: this.deps.headers.make(0n), watch_id: watcher.id, canceled: true, compact_revision: compactRevision },
      watcher,
    );
  }

  /** Drops every watcher and releases the timer; the call itself is ended by gRPC. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.stopTicker();
    for (const w of this.watchers.values()) {
      this.deps.hub.remove(w);
      w.state = 'canceled';
    }
    this.watchers.clear();
    this.outbox.close();
    this.deps.hub.counters.streams--;
    this.deps.onClose(this);
  }

  /** Ends the call because the server stops: the client sees "etcdserver: server stopped". */
  terminate(): void {
    this.fail(etcdError('stopped'));
  }

  /** Ends the call with `err` as its status (etcd errors by their table entry, bugs as UNKNOWN). */
  fail(err: unknown): void {
    if (!this.open) return;
    this.close();
    this.call.emit('error', toServiceError(err));
  }

  private receive(req: WatchRequest): void {
    if (!this.open) return;
    try {
      if (req.create_request !== undefined) this.create(req.create_request);
      else if (req.cancel_request !== undefined) this.cancel(req.cancel_request.watch_id);
      else if (req.progress_request !== undefined) this.progressAll();
      // anything else is ignored, as etcd does
    } catch (err) {
      // A bug, not a client error: end this call with a status instead of crashing the server.
      this.fail(err);
    }
  }

  private create(req: NonNullable<WatchRequest['create_request']>): void {
    const current = this.deps.hub.revision;
    const check = checkCreateRequest(req);
    if (!check.ok) {
      this.rejectCreate(current, check.reason);
      return;
    }
    const id = this.ids.assign(check.spec.requestedId, (n) => this.watchers.has(n));
    if (id === undefined) {
      this.rejectCreate(current, watchCancelReasons.duplicateId);
      return;
    }
    const watcher = new Watcher(id, check.spec, this);
    this.watchers.set(id, watcher);
    // The created response is queued before the hub can produce any event for the watcher.
    this.outbox.push({ header: this.deps.headers.make(current), watch_id: id, created: true });
    this.deps.hub.add(watcher);
    if (check.spec.progressNotify) this.startTicker();
    this.checkReadPressure();
  }

  private rejectCreate(current: bigint, reason: string): void {
    this.outbox.push({
      header: this.deps.headers.make(current),
      watch_id: INVALID_WATCH_ID,
      created: true,
      canceled: true,
      cancel_reason: reason,
    });
    this.checkReadPressure();
  }

  private cancel(id: bigint): void {
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return; // etcd answers nothing for an unknown ID
    this.watchers.delete(id);
    this.deps.hub.remove(watcher);
    watcher.state = 'canceled';
    // Nothing of this watcher may follow its canceled response.
    this.outbox.withdraw(watcher);
    this.outbox.push({ header: this.deps.headers.make(this.deps.hub.revision), watch_id: id, canceled: true });
    if (watcher.spec.progressNotify && ![...this.watchers.values()].some((w) => w.spec.progressNotify)) {
      this.stopTicker();
    }
    this.checkReadPressure();
  }

  /**
   * progress_request (etcd 3.5+): one `watch_id -1` response at the current revision, only
   * when the stream has watchers and every one is synced and not waiting for a future start.
   */
  private progressAll(): void {
    if (this.watchers.size === 0) return;
    const current = this.deps.hub.revision;
    for (const w of this.watchers.values()) if (w.state !== 'synced' || w.waitsForFuture(current)) return;
    this.outbox.push({ header: this.deps.headers.make(current), watch_id: INVALID_WATCH_ID });
    this.checkReadPressure();
  }

  /** Progress notify tick: synced progress_notify watchers that got no events since the last one. */
  private tick(): void {
    if (this.outbox.backlog >= STREAM_BACKLOG_LIMIT) return; // the client is not reading anyway
    const current = this.deps.hub.revision;
    for (const w of this.watchers.values()) {
      if (!w.spec.progressNotify) continue;
      if (w.progressDue && w.state === 'synced' && !w.waitsForFuture(current)) {
        this.outbox.push({ header: this.deps.headers.make(current), watch_id: w.id }, w);
      }
      w.progressDue = true;
    }
  }

  /** Starts the stream's progress ticker (its period is picked once per stream, as etcd). */
  private startTicker(): void {
    if (this.ticker !== undefined || !this.open) return;
    if (this.tickEveryMs === 0) this.tickEveryMs = progressInterval(this.deps.progressIntervalMs);
    this.deps.hub.counters.tickers++;
    const arm = (): void => {
      this.ticker = this.deps.clock.setTimer(() => {
        arm();
        try {
          this.tick();
        } catch (err) {
          this.fail(err);
        }
      }, this.tickEveryMs);
    };
    arm();
  }

  private stopTicker(): void {
    if (this.ticker === undefined) return;
    this.deps.clock.clearTimer(this.ticker);
    this.ticker = undefined;
    this.deps.hub.counters.tickers--;
  }

  private drained(): void {
    if (!this.open) return;
    this.outbox.drained();
    this.checkReadPressure();
    if (this.outbox.backlog === 0 && !this.outbox.blocked) this.deps.hub.wake();
  }

  /** Stops reading requests while too many responses are held back; resumes when they drain. */
  private checkReadPressure(): void {
    const backlog = this.outbox.backlog;
    if (!this.readPaused && backlog >= READ_PAUSE_BACKLOG) {
      this.readPaused = true;
      this.call.pause();
    } else if (this.readPaused && backlog < READ_PAUSE_BACKLOG / 2) {
      this.readPaused = false;
      this.call.resume();
    }
  }
}
