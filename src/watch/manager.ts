/**
 * The client's watch multiplexer: every watcher shares ONE gRPC Watch stream (with
 * require-leader metadata). Watch ids are chosen by the client (1, 2, ...; a fresh id for
 * every (re)creation), so creates are pipelined and a stale response can never be confused
 * with a newer registration. The stream is opened when the first watcher arrives, reopened
 * with backoff after any failure (preferring another endpoint), and closed with the last one.
 */
import type { Invoke } from '../balancer/invoke.js';
import type { BidiStream, OpenStreamOptions } from '../balancer/invoke.js';
import { ClientClosedError, internalError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import type { WatchRequest, WatchResponse } from '../protocol/messages.generated.js';
import { retryForever } from './backoff.js';
import { cancelReasonError } from './convert.js';
import { Queue } from './queue.js';
import { readRangeState } from './read-state.js';
import type { RangeState } from './read-state.js';
import type { WatchHost, Watcher } from './watcher.js';

/** The Watch stream as the balancer hands it out. */
export type WatchStream = BidiStream<WatchRequest, WatchResponse>;

/** What the manager needs from the client's invoker. */
export interface WatchTransport extends Invoke {
  openStream(service: 'Watch', method: 'Watch', options?: OpenStreamOptions): Promise<WatchStream>;
}

/** Options of {@link WatchManager}. */
export interface WatchManagerOptions {
  /** A watch not created within this long (while connection attempts fail) fails with their error. */
  readonly dialTimeoutMs: number;
}

/** Counters for tests and diagnostics. */
export interface WatchManagerStats {
  /** Live watchers. */
  readonly watchers: number;
  /** Watchers registered on the current stream. */
  readonly registered: number;
  /** Streams opened so far. */
  readonly streamsOpened: number;
  /** Whether a stream is open now. */
  readonly open: boolean;
}

/**
 * `idle`: no stream (no watchers, or between a failure and the next attempt); `connecting`:
 * the backoff loop runs; `open`: a stream is up; `closed`: the client closed.
 */
type Phase = 'idle' | 'connecting' | 'open' | 'closed';

const resolved = Promise.resolve();

/** Shares one Watch stream among all of a client's watchers. */
export class WatchManager implements WatchHost {
  readonly #transport: WatchTransport;
  readonly #dialTimeoutMs: number;
  /** Every live watcher. */
  readonly #watchers = new Set<Watcher>();
  /** Watchers by their id on the current stream. */
  readonly #byId = new Map<number, Watcher>();
  /** Ids whose `created` answer is outstanding, in send order (failures carry id -1). */
  readonly #awaitingCreated = new Queue<number>();
  /** Ids we sent a cancel for, with who waits for the acknowledgement. */
  readonly #cancels = new Map<number, (() => void) | undefined>();
  #phase: Phase = 'idle';
  #stream: WatchStream | undefined;
  #connecting: AbortController | undefined;
  #lastEndpoint: string | undefined;
  #nextId = 1;
  #progressQueued = false;
  #streamsOpened = 0;

  constructor(transport: WatchTransport, options: WatchManagerOptions) {
    this.#transport = transport;
    this.#dialTimeoutMs = options.dialTimeoutMs;
  }

  get endpoint(): string | undefined {
    return this.#stream?.endpoint ?? this.#lastEndpoint;
  }

  get stats(): WatchManagerStats {
    return {
      watchers: this.#watchers.size,
      registered: this.#byId.size,
      streamsOpened: this.#streamsOpened,
      open: this.#phase === 'open',
    };
  }

  // ---------------------------------------------------------------------------------------------
  // WatchHost.

  attach(watcher: Watcher): void {
    if (this.#phase === 'closed') {
      watcher.close(new ClientClosedError());
      return;
    }
    this.#watchers.add(watcher);
    if (this.#phase === 'open') this.#sendCreate(watcher);
    else this.#connect();
  }

  release(watcher: Watcher): void {
    const id = watcher.id;
    if (id === 0) return;
    watcher.id = 0;
    this.#byId.delete(id);
    this.#sendCancel(id, undefined);
  }

  remove(watcher: Watcher): Promise<void> {
    if (!this.#watchers.delete(watcher)) return resolved;
    const id = watcher.id;
    let acknowledged = resolved;
    if (id !== 0) {
      watcher.id = 0;
      this.#byId.delete(id);
      if (this.#phase === 'open') acknowledged = new Promise<void>((resolve) => this.#sendCancel(id, resolve));
    }
    if (this.#watchers.size === 0 && this.#phase !== 'closed') this.#stop('idle');
    return acknowledged;
  }

  requestProgress(): void {
    // Coalesces the requests of one tick; an unanswered request is not remembered (etcd 3.5+
    // ignores requests while a watcher catches up), so a later call sends again.
    if (this.#progressQueued) return;
    this.#progressQueued = true;
    queueMicrotask(() => {
      this.#progressQueued = false;
      if (this.#phase === 'open') this.#stream!.write({ progress_request: {} });
    });
  }

  readState(key: Uint8Array, rangeEnd: Uint8Array | undefined, signal: AbortSignal): Promise<RangeState> {
    return readRangeState(this.#transport, key, rangeEnd, signal);
  }

  // ---------------------------------------------------------------------------------------------

  /** Ends every watch (iterators complete) and closes the stream. Idempotent. */
  close(): void {
    if (this.#phase === 'closed') return;
    this.#stop('closed');
    const reason = new ClientClosedError();
    for (const watcher of [...this.#watchers]) watcher.close(reason);
    this.#watchers.clear();
  }

  /** Starts the reconnect loop unless one runs or a stream is open. */
  #connect(): void {
    if (this.#phase !== 'idle' || this.#watchers.size === 0) return;
    this.#phase = 'connecting';
    const controller = new AbortController();
    this.#connecting = controller;
    retryForever(() => this.#attempt(controller), {
      signal: controller.signal,
      onFailedAttempt: (error) => this.#onFailedAttempt(error),
    }).then(
      () => {},
      (error: unknown) => {
        if (this.#connecting !== controller) return;
        this.#connecting = undefined;
        this.#phase = 'idle';
        // A final error (not a transient one): nothing to wait for.
        this.#failAll(internalError(error, { idempotent: true, endpoint: this.endpoint }));
      },
    );
  }

  /** One connection attempt: resolves once the new stream delivered a message. */
  async #attempt(controller: AbortController): Promise<void> {
    const stream = await this.#transport.openStream('Watch', 'Watch', {
      requireLeader: true,
      avoid: this.#lastEndpoint,
      signal: controller.signal,
    });
    if (controller.signal.aborted || this.#connecting !== controller) {
      stream.cancel();
      throw controller.signal.reason;
    }
    return this.#run(stream, controller);
  }

  /** Makes `stream` the current one and registers every pending watcher on it. */
  #run(stream: WatchStream, controller: AbortController): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let healthy = false;
      this.#stream = stream;
      this.#phase = 'open';
      this.#lastEndpoint = stream.endpoint;
      this.#streamsOpened += 1;
      stream.listen({
        data: (res) => {
          if (!healthy) {
            healthy = true;
            if (this.#connecting === controller) this.#connecting = undefined;
            resolve();
          }
          if (stream === this.#stream) this.#onMessage(res);
        },
        end: (error) => {
          if (stream === this.#stream) this.#onStreamEnd(error);
          if (!healthy) reject(error);
          else this.#connect();
        },
      });
      for (const watcher of this.#watchers) if (watcher.state === 'pending') this.#sendCreate(watcher);
    });
  }

  #onFailedAttempt(error: unknown): void {
    // A watch that was never created gives up like a call would: after the dial timeout.
    const now = Date.now();
    for (const watcher of [...this.#watchers]) {
      if (watcher.since >= 0 && now - watcher.since >= this.#dialTimeoutMs) {
        watcher.fail(internalError(error, { idempotent: true, endpoint: this.endpoint }));
      }
    }
  }

  #onStreamEnd(error: EtcdError): void {
    this.#lastEndpoint = this.#stream?.endpoint ?? this.#lastEndpoint;
    this.#stream = undefined;
    // Still inside the backoff loop when the stream failed before proving healthy.
    this.#phase = this.#connecting !== undefined ? 'connecting' : 'idle';
    this.#resetStreamState();
    for (const watcher of [...this.#watchers]) watcher.onDisconnected(error);
  }

  #onMessage(res: WatchResponse): void {
    if (res.created) {
      this.#onCreatedResponse(res);
      return;
    }
    const wireId = res.watch_id;
    if (wireId === -1n) {
      // The answer to a progress request, for the whole stream.
      const revision = res.header?.revision ?? 0n;
      if (!res.canceled && revision > 0n) {
        for (const watcher of [...this.#watchers]) if (watcher.wantsProgress) watcher.onProgressAnswer(revision);
      }
      return;
    }
    const id = Number(wireId);
    const watcher = this.#byId.get(id);
    if (watcher !== undefined) {
      if (res.canceled && res.compact_revision === 0n) {
        // Cancelled by the server for good: the id is free again there.
        this.#byId.delete(id);
        watcher.id = 0;
      }
      watcher.onResponse(res);
      return;
    }
    if (this.#cancels.has(id)) {
      if (res.canceled) {
        this.#cancels.get(id)?.();
        this.#cancels.delete(id);
      }
      return;
    }
    // Not ours (any more): ask the server once to stop it.
    if (!res.canceled) this.#sendCancel(id, undefined);
  }

  #onCreatedResponse(res: WatchResponse): void {
    const wireId = res.watch_id;
    let id: number;
    if (wireId === -1n || !this.#byId.has(Number(wireId))) {
      // Answers come in request order; a failure (id -1) answers the oldest outstanding create.
      const head = this.#awaitingCreated.shift();
      if (head === undefined) return;
      id = head;
    } else {
      id = Number(wireId);
      for (let head = this.#awaitingCreated.shift(); head !== undefined && head !== id; ) head = this.#awaitingCreated.shift();
    }
    const watcher = this.#byId.get(id);
    if (watcher === undefined) {
      // Cancelled before it was created: the cancel sent then is answered separately,
      // except when the create itself failed.
      if (res.canceled) {
        this.#cancels.get(id)?.();
        this.#cancels.delete(id);
      }
      return;
    }
    if (res.canceled) {
      this.#byId.delete(id);
      watcher.onCreateFailed(cancelReasonError(res.cancel_reason, this.endpoint));
      return;
    }
    watcher.onCreated(res.header?.revision ?? 0n);
  }

  #sendCreate(watcher: Watcher): void {
    const id = this.#nextId++;
    this.#byId.set(id, watcher);
    this.#awaitingCreated.push(id);
    this.#stream!.write({ create_request: watcher.createRequest(id) });
  }

  #sendCancel(id: number, acknowledged: (() => void) | undefined): void {
    if (this.#phase !== 'open') {
      acknowledged?.();
      return;
    }
    this.#cancels.set(id, acknowledged);
    this.#stream!.write({ cancel_request: { watch_id: BigInt(id) } });
  }

  /** Stops the reconnect loop and the stream; `idle` when the last watcher left, `closed` for good. */
  #stop(phase: 'idle' | 'closed'): void {
    const controller = this.#connecting;
    this.#connecting = undefined;
    controller?.abort(new ClientClosedError('the watch stream is no longer needed'));
    const stream = this.#stream;
    this.#stream = undefined;
    this.#phase = phase;
    this.#resetStreamState();
    stream?.cancel();
  }

  /** Forgets everything tied to the stream that ended; pending cancels count as acknowledged. */
  #resetStreamState(): void {
    this.#byId.clear();
    this.#awaitingCreated.clear();
    const waiting = [...this.#cancels.values()];
    this.#cancels.clear();
    for (const acknowledged of waiting) acknowledged?.();
  }

  #failAll(error: EtcdError): void {
    for (const watcher of [...this.#watchers]) watcher.fail(error);
  }
}
