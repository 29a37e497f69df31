/**
 * The KeepAliveManager keeps every lease of a client alive over ONE shared LeaseKeepAlive
 * stream (like clientv3's lessor):
 *
 * - each lease is renewed a third of its server-returned TTL after the last successful
 *   renewal, and answers are dispatched by lease ID;
 * - a lease whose renewals all failed is declared lost at `last successful renewal + TTL`
 *   exactly (a timer), where "renewal time" is when the answered request was SENT, so the
 *   client never believes in a lease longer than the server can keep it;
 * - a server answer of TTL 0 means the lease is gone (`expired`);
 * - the stream re-opens after failures with jittered exponential backoff (p-retry), on
 *   another endpoint when there is one, and re-sends a keepalive for every lease at once;
 *   a request left unanswered too long counts as a stalled stream and re-opens it too;
 * - every timer lives in one {@link TimerQueue}; the stream is closed when no lease is kept.
 *
 * Stream loop states: `idle` (no lease kept, no stream) -> `running` (stream open, opening,
 * or waiting to re-open) -> `idle` when the last lease goes; `closed` is final.
 */
import pRetry from 'p-retry';
import { reconnectPolicy } from '../balancer/reconnect.js';
import { ClientClosedError, EtcdError, internalError, UnavailableError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { LeaseKeepAliveResponse } from '../protocol/messages.generated.js';
import type { KeepAliveStream, OpenKeepAliveStream } from './keepalive-stream.js';
import { TimerNode, TimerQueue } from './timer-queue.js';

/** Loss reasons the manager reports (`closed` is decided by the lease itself). */
export type KeptLeaseLoss = 'expired' | 'revoked' | 'deadline' | 'client-closed';

/** Receives what happens to one kept-alive lease. Must not throw. */
export interface LeaseSink {
  /** A keepalive succeeded: the server's TTL, and when the lease expires unless renewed again. */
  renewed(ttl: bigint, deadline: number): void;
  /** The lease is lost; reported once, after which the sink is dropped. */
  lost(reason: KeptLeaseLoss, cause: unknown): void;
}

/** A sink's registration; `stop()` stops renewing for this sink (idempotent). */
export interface KeepHandle {
  stop(): void;
}

/** What is known of a lease before its first keepalive (e.g. from its grant). */
export interface KnownRenewal {
  /** The TTL in milliseconds. */
  readonly ttlMs: number;
  /** When the lease was last renewed (or granted): the request's send time. */
  readonly renewedAt: number;
}

/** Tuning knobs (tests shorten them). */
export interface KeepAliveManagerOptions {
  /** Re-open backoff bounds (jittered, doubling). Default: the streams' `reconnectPolicy` (50 ms .. 2 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Clock (ms timestamps). Default `Date.now`. */
  readonly now?: () => number;
}

/** One lease being kept alive, shared by every sink keeping that ID. */
class Entry {
  readonly id: bigint;
  readonly sinks = new Set<LeaseSink>();
  /** TTL of the last renewal in ms; 0 while unknown (adopted, not answered yet). */
  ttlMs = 0;
  /** Send time of the request awaiting its answer on the current stream, if any. */
  sentAt: number | undefined;
  /** > 0 while a revoke is in flight: no keepalives are sent and TTL 0 answers are left to the revoke. */
  paused = 0;
  /** Next renewal, or (while a request is out) the stall check. */
  readonly action: TimerNode;
  /** `last successful renewal + TTL`: the lease is lost when it fires. */
  readonly deadline: TimerNode;

  constructor(id: bigint, onAction: (entry: Entry) => void, onDeadline: (entry: Entry) => void) {
    this.id = id;
    this.action = new TimerNode(() => onAction(this));
    this.deadline = new TimerNode(() => onDeadline(this));
  }
}

type LoopState = 'idle' | 'running' | 'closed';

/** Keeps leases alive over one shared keepalive stream. */
export class KeepAliveManager {
  readonly #open: OpenKeepAliveStream;
  readonly #now: () => number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #entries = new Map<bigint, Entry>();
  readonly #timers: TimerQueue;
  #state: LoopState = 'idle';
  /** Aborts the current stream loop (and its stream). */
  #run: AbortController | undefined;
  /** The open stream, when one is open. */
  #stream: KeepAliveStream | undefined;
  /** Ends the current stream attempt with a failure (used when it stalls). */
  #fail: ((error: EtcdError) => void) | undefined;
  /** The endpoint whose stream failed last (the next stream prefers another). */
  #avoid: string | undefined;
  /** The last stream failure, reported as the cause of a `deadline` loss. */
  #lastError: EtcdError | undefined;
  #streamsOpened = 0;

  constructor(open: OpenKeepAliveStream, options: KeepAliveManagerOptions = {}) {
    this.#open = open;
    this.#now = options.now ?? Date.now;
    this.#minBackoffMs = options.minBackoffMs ?? reconnectPolicy.minDelayMs;
    this.#maxBackoffMs = options.maxBackoffMs ?? reconnectPolicy.maxDelayMs;
    this.#timers = new TimerQueue(this.#now);
  }

  /** How many keepalive streams were opened so far (diagnostics and tests). */
  get streamsOpened(): number {
    return this.#streamsOpened;
  }

  /** True while a keepalive stream is open. */
  get streamOpen(): boolean {
    return this.#stream !== undefined;
  }

  /** How many lease IDs are being kept alive. */
  get size(): number {
    return this.#entries.size;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * Starts keeping lease `id` alive for `sink` (a keepalive is sent at once). Several sinks
   * may keep the same ID; it is renewed while at least one does.
   * @throws ClientClosedError after {@link close}.
   */
  keep(id: bigint, sink: LeaseSink, known?: KnownRenewal): KeepHandle {
    if (this.#state === 'closed') throw new ClientClosedError();
    let entry = this.#entries.get(id);
    const added = entry === undefined;
    if (entry === undefined) {
      entry = new Entry(id, this.#onAction, this.#onDeadline);
      this.#entries.set(id, entry);
    }
    entry.sinks.add(sink);
    if (known !== undefined && !entry.deadline.scheduled) {
      entry.ttlMs = known.ttlMs;
      this.#timers.schedule(entry.deadline, known.renewedAt + known.ttlMs);
    }
    if (added) {
      if (this.#stream !== undefined) this.#send(entry);
      else this.#start();
    }
    const kept = entry;
    let stopped = false;
    return {
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.#release(kept, sink);
      },
    };
  }

  /**
   * Pauses renewals of `id` while it is being revoked: nothing is sent and a TTL 0 answer is
   * ignored (the revoke reports the outcome). Returns the idempotent resume function.
   */
  pause(id: bigint): () => void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return () => {};
    entry.paused += 1;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      entry.paused -= 1;
      if (entry.paused === 0 && this.#entries.get(entry.id) === entry) this.#send(entry);
    };
  }

  /** Reports lease `id` lost to every sink keeping it, and stops renewing it. */
  lose(id: bigint, reason: KeptLeaseLoss, cause?: unknown): void {
    const entry = this.#entries.get(id);
    if (entry !== undefined) this.#lose(entry, reason, cause);
  }

  /** Stops everything: every kept lease is lost with `client-closed`. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const run = this.#run;
    this.#run = undefined;
    run?.abort(new ClientClosedError());
    for (const entry of [...this.#entries.values()]) this.#lose(entry, 'client-closed', undefined);
    this.#timers.clear();
  }

  // ---------------------------------------------------------------------------------------
  // Leases.

  #release(entry: Entry, sink: LeaseSink): void {
    entry.sinks.delete(sink);
    if (entry.sinks.size > 0 || this.#entries.get(entry.id) !== entry) return;
    this.#drop(entry);
  }

  #lose(entry: Entry, reason: KeptLeaseLoss, cause: unknown): void {
    if (this.#entries.get(entry.id) !== entry) return;
    this.#drop(entry);
    for (const sink of [...entry.sinks]) sink.lost(reason, cause);
    entry.sinks.clear();
  }

  #drop(entry: Entry): void {
    this.#entries.delete(entry.id);
    this.#timers.cancel(entry.action);
    this.#timers.cancel(entry.deadline);
    if (this.#entries.size === 0) this.#stop();
  }

  /** Sends a keepalive for `entry` if a stream is open and none is awaiting an answer. */
  #send(entry: Entry): void {
    const stream = this.#stream;
    if (stream === undefined || entry.paused > 0 || entry.sentAt !== undefined) return;
    const now = this.#now();
    entry.sentAt = now;
    this.#timers.schedule(entry.action, now + this.#stallMs(entry));
    stream.write({ ID: entry.id });
  }

  /** How long an answer may take before the stream counts as stalled. */
  #stallMs(entry: Entry): number {
    return entry.ttlMs > 0 ? Math.min(5000, Math.max(500, entry.ttlMs / 3)) : 1000;
  }

  readonly #onAction = (entry: Entry): void => {
    if (entry.sentAt === undefined) {
      this.#send(entry);
      return;
    }
    // The answer is overdue: the stream or its endpoint stalled. Re-open (elsewhere if possible).
    const stream = this.#stream;
    const waited = this.#now() - entry.sentAt;
    const where = stream === undefined ? '' : ` (endpoint ${stream.endpoint})`;
    this.#fail?.(
      new UnavailableError({
        code: GrpcCode.UNAVAILABLE,
        etcdMessage: `no keepalive answer within ${Math.round(waited)} ms`,
        message: `no keepalive answer within ${Math.round(waited)} ms${where}`,
        retryable: true,
        endpoint: stream?.endpoint,
      }),
    );
  };

  readonly #onDeadline = (entry: Entry): void => {
    this.#lose(entry, 'deadline', this.#lastError);
  };

  #onResponse(response: LeaseKeepAliveResponse): void {
    const entry = this.#entries.get(response.ID);
    if (entry === undefined || entry.sentAt === undefined) return;
    const sentAt = entry.sentAt;
    entry.sentAt = undefined;
    this.#timers.cancel(entry.action);
    if (response.TTL <= 0n) {
      if (entry.paused === 0) this.#lose(entry, 'expired', undefined);
      return;
    }
    const ttlMs = Number(response.TTL) * 1000;
    entry.ttlMs = ttlMs;
    const deadline = sentAt + ttlMs;
    this.#timers.schedule(entry.deadline, deadline);
    this.#timers.schedule(entry.action, sentAt + ttlMs / 3);
    for (const sink of entry.sinks) sink.renewed(response.TTL, deadline);
  }

  // ---------------------------------------------------------------------------------------
  // The stream loop.

  #start(): void {
    if (this.#state !== 'idle' || this.#entries.size === 0) return;
    this.#state = 'running';
    const run = new AbortController();
    this.#run = run;
    void this.#loop(run.signal).finally(() => {
      if (this.#run !== run) return;
      // The loop ended on its own (it only does when aborted): nothing left to do.
      this.#run = undefined;
      if (this.#state === 'running') this.#state = 'idle';
      this.#start();
    });
  }

  #stop(): void {
    if (this.#state !== 'running') return;
    this.#state = 'idle';
    const run = this.#run;
    this.#run = undefined;
    run?.abort();
  }

  /** Runs streams until aborted: a failed stream re-opens after a jittered backoff. */
  async #loop(signal: AbortSignal): Promise<void> {
    // Bounded by the signal: each pass either waits for a stream's end or for a backoff.
    while (!signal.aborted) {
      try {
        await pRetry(() => this.#attempt(signal), {
          retries: Infinity,
          minTimeout: this.#minBackoffMs,
          maxTimeout: this.#maxBackoffMs,
          factor: 2,
          randomize: true,
          signal,
        });
      } catch {
        return; // aborted
      }
    }
  }

  /**
   * Opens one stream and serves it until it ends. Resolves when it ends after serving well
   * for a while (the backoff then starts over) or when the loop is aborted; rejects with the
   * failure otherwise (p-retry then backs off).
   */
  #attempt(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let stream: KeepAliveStream | undefined;
      let openedAt = 0;
      let answered = false;
      let done = false;
      const finish = (error: EtcdError | undefined): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (this.#fail === finish) this.#fail = undefined;
        if (stream !== undefined) {
          if (this.#stream === stream) this.#detach();
          stream.cancel();
        }
        if (error === undefined || signal.aborted) {
          resolve();
          return;
        }
        if (error instanceof ClientClosedError) {
          // The client closed under us (its streams end with this): nothing can be renewed.
          this.close();
          resolve();
          return;
        }
        this.#lastError = error;
        if (stream !== undefined) this.#avoid = stream.endpoint;
        if (answered && this.#now() - openedAt >= this.#maxBackoffMs) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#fail = finish;
      this.#open({ signal, requireLeader: true, avoid: this.#avoid }).then(
        (opened) => {
          if (done) {
            opened.cancel();
            return;
          }
          stream = opened;
          openedAt = this.#now();
          this.#streamsOpened += 1;
          this.#stream = opened;
          opened.listen({
            data: (response) => {
              if (done) return;
              answered = true;
              this.#onResponse(response);
            },
            end: (error) => finish(error),
          });
          if (!done) this.#sendAll();
        },
        (error: unknown) => finish(error instanceof EtcdError ? error : internalError(error, { idempotent: true })),
      );
    });
  }

  /** A new stream is open: every lease gets a keepalive now. */
  #sendAll(): void {
    for (const entry of this.#entries.values()) this.#send(entry);
  }

  /** The stream is gone: requests awaiting answers are lost and will be re-sent on the next one. */
  #detach(): void {
    this.#stream = undefined;
    for (const entry of this.#entries.values()) {
      if (entry.sentAt === undefined) continue;
      entry.sentAt = undefined;
      this.#timers.cancel(entry.action);
    }
  }
}
