/**
 * The consumer side of one watch: listeners, the async iterator, the bounded queue of items
 * not yet consumed, the `ready` promise and the end. Everything is allocated lazily, so an
 * idle watch with no listeners costs a handful of fields.
 */
import type { EtcdError } from '../errors.js';
import { Queue } from './queue.js';
import type { WatchItem, WatchListenerKind, WatchListeners } from './types.js';

/** Told when the queue has drained (to resume a paused watch). */
export interface DrainObserver {
  onDrained(): void;
}

type AnyListener = (arg?: never) => void;
type ListenerTable = { [K in WatchListenerKind]?: readonly AnyListener[] };

const itemKinds: ReadonlySet<WatchListenerKind> = new Set(['event', 'put', 'delete', 'progress', 'compacted', 'resync']);

/** States of `ready`. */
const Ready = { pending: 0, resolved: 1, rejected: 2 } as const;
type ReadyState = (typeof Ready)[keyof typeof Ready];

/** Rarely needed state, kept out of idle watches. */
interface Lifecycle {
  readyPromise?: Promise<void>;
  settleReady?: { resolve(): void; reject(error: EtcdError): void };
  readyError?: EtcdError;
  endReason?: EtcdError;
  /** Thrown by the iterator after the queued items (a failure, not a cancel). */
  failure?: EtcdError;
}

interface Waiter {
  resolve(result: IteratorResult<WatchItem>): void;
  reject(error: unknown): void;
}

const noop = () => {};
const done: IteratorResult<WatchItem> = Object.freeze({ done: true, value: undefined });

/** Items queued, listeners, iterator and lifecycle of one watch. */
export class Outlet {
  readonly #observer: DrainObserver;
  readonly #lowWater: number;
  #queue: Queue<WatchItem> | undefined;
  #listeners: ListenerTable | undefined;
  #itemListeners = 0;
  #iterating = false;
  #waiter: Waiter | undefined;
  #readyState: ReadyState = Ready.pending;
  #ended = false;
  /** Allocated once `ready` is read or the watch ends. */
  #life: Lifecycle | undefined;
  /** Most items ever queued at once (a metric for tests and diagnostics). */
  maxQueued = 0;

  constructor(observer: DrainObserver, bufferSize: number) {
    this.#observer = observer;
    this.#lowWater = Math.floor(bufferSize / 4);
  }

  /** Items queued for the iterator and not consumed yet. */
  get queued(): number {
    return this.#queue?.length ?? 0;
  }

  /** True when new items are queued (the iterator is in use, or nothing consumes items yet). */
  get queuing(): boolean {
    return this.#iterating || this.#itemListeners === 0;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the queue is at or below the level where a paused watch resumes. */
  get drained(): boolean {
    return this.queued <= this.#lowWater;
  }

  // ---------------------------------------------------------------------------------------------
  // Producer side (the watcher).

  /** Delivers an item: listeners now, and the queue when {@link queuing}. */
  push(item: WatchItem): void {
    if (this.#ended) return;
    if (this.#listeners !== undefined) this.#dispatch(item);
    if (this.#ended || !this.queuing) return;
    const waiter = this.#waiter;
    if (waiter !== undefined && this.queued === 0) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: item });
      return;
    }
    const queue = (this.#queue ??= new Queue());
    queue.push(item);
    if (queue.length > this.maxQueued) this.maxQueued = queue.length;
  }

  /** Calls the listeners of a non-item kind. */
  notify<K extends 'disconnected' | 'reconnected'>(kind: K, ...args: Parameters<WatchListeners[K]>): void {
    if (this.#listeners !== undefined && !this.#ended) this.#call(kind, args[0]);
  }

  /** The server created the watch (the first time only settles `ready`). */
  markReady(): void {
    if (this.#readyState !== Ready.pending) return;
    this.#readyState = Ready.resolved;
    const life = this.#life;
    if (life?.settleReady !== undefined) {
      life.settleReady.resolve();
      life.settleReady = undefined;
    }
  }

  /**
   * Ends the watch (once). `failure` makes the iterator throw after the queued items and
   * calls `error` listeners; `discard` drops queued items (cancel, client close);
   * `notCreated` is what `ready` rejects with if the server never created the watch.
   */
  end(reason: EtcdError | undefined, failure: EtcdError | undefined, discard: boolean, notCreated: () => EtcdError): void {
    if (this.#ended) return;
    this.#ended = true;
    const life = (this.#life ??= {});
    life.endReason = reason;
    life.failure = failure;
    if (this.#readyState === Ready.pending) {
      this.#readyState = Ready.rejected;
      life.readyError = failure ?? reason ?? notCreated();
      life.settleReady?.reject(life.readyError);
      life.settleReady = undefined;
    }
    if (discard) this.#queue = undefined;
    if (failure !== undefined) this.#call('error', failure);
    this.#call('end', reason);
    const waiter = this.#waiter;
    if (waiter !== undefined && this.queued === 0) {
      this.#waiter = undefined;
      this.#finishIteration(waiter);
    }
    this.#listeners = undefined;
    this.#itemListeners = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer side (the public Watch).

  /**
   * Resolves once the server created the watch; rejects with the typed error when creation
   * failed (or the watch ended first). Never an unhandled rejection, even if nobody awaits.
   */
  get ready(): Promise<void> {
    const life = (this.#life ??= {});
    if (life.readyPromise !== undefined) return life.readyPromise;
    let promise: Promise<void>;
    if (this.#readyState === Ready.resolved) promise = Promise.resolve();
    else if (this.#readyState === Ready.rejected) promise = Promise.reject(life.readyError);
    else promise = new Promise<void>((resolve, reject) => (life.settleReady = { resolve, reject }));
    promise.catch(noop);
    life.readyPromise = promise;
    return promise;
  }

  on(kind: WatchListenerKind, listener: AnyListener): void {
    if (typeof listener !== 'function') throw new TypeError(`watch.on('${kind}', listener): listener must be a function`);
    if (this.#ended) {
      // Late 'end' listeners still learn that the watch is over.
      if (kind === 'end') queueMicrotask(() => this.#invoke(listener, this.#life?.endReason));
      return;
    }
    const table = (this.#listeners ??= {});
    const current = table[kind];
    // Copy-on-write (dispatch may be iterating the old list); `[listener]` keeps the common
    // one-listener case at a minimal array instead of a spread's over-allocated one.
    table[kind] = current === undefined ? [listener] : current.concat(listener);
    if (!itemKinds.has(kind)) return;
    this.#itemListeners += 1;
    // Items that arrived while nothing consumed them go to the first listeners (registered
    // in this tick), unless an iterator takes them.
    if (this.#itemListeners === 1 && !this.#iterating && this.queued > 0) queueMicrotask(() => this.#flushToListeners());
  }

  #flushToListeners(): void {
    if (this.#iterating || this.#ended || this.#itemListeners === 0) return;
    const queue = this.#queue;
    this.#queue = undefined;
    if (queue === undefined) return;
    for (let item = queue.shift(); item !== undefined && !this.#ended; item = queue.shift()) this.#dispatch(item);
    if (!this.#ended) this.#observer.onDrained();
  }

  off(kind: WatchListenerKind, listener: AnyListener): void {
    const list = this.#listeners?.[kind];
    if (list === undefined) return;
    const index = list.indexOf(listener);
    if (index < 0) return;
    const next = list.slice(0, index).concat(list.slice(index + 1));
    this.#listeners![kind] = next.length === 0 ? undefined : next;
    if (itemKinds.has(kind)) this.#itemListeners -= 1;
  }

  /** Starts the (single) iteration. */
  iterate(): AsyncIterator<WatchItem> & { return(): Promise<IteratorResult<WatchItem>> } {
    if (this.#iterating) throw new TypeError('a Watch can be iterated by one consumer at a time');
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => Promise.resolve(done),
    };
  }

  /** Stops the iteration (the watch itself is ended by the caller). */
  stopIterating(): void {
    this.#iterating = false;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(done);
  }

  #next(): Promise<IteratorResult<WatchItem>> {
    const queue = this.#queue;
    if (queue !== undefined && queue.length > 0) {
      const item = queue.shift()!;
      if (!this.#ended && queue.length <= this.#lowWater) this.#observer.onDrained();
      return Promise.resolve({ done: false, value: item });
    }
    if (this.#ended) {
      return new Promise((resolve, reject) => this.#finishIteration({ resolve, reject }));
    }
    if (this.#waiter !== undefined) return Promise.reject(new TypeError('watch iterator: next() called before the previous one settled'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      // An empty queue is below any low-water mark: a paused watch can resume.
      this.#observer.onDrained();
    });
  }

  /** The final result: the failure once, then done. */
  #finishIteration(waiter: Waiter): void {
    const failure = this.#life?.failure;
    if (failure !== undefined) {
      this.#life!.failure = undefined;
      waiter.reject(failure);
    } else {
      waiter.resolve(done);
    }
  }

  /** Calls the item's listeners. */
  #dispatch(item: WatchItem): void {
    if (item.type === 'put' || item.type === 'delete') this.#call('event', item);
    this.#call(item.type, item);
  }

  #call(kind: WatchListenerKind, arg: unknown): void {
    const list = this.#listeners?.[kind];
    if (list === undefined) return;
    for (const listener of list) this.#invoke(listener, arg);
  }

  #invoke(listener: AnyListener, arg: unknown): void {
    try {
      (listener as (arg: unknown) => void)(arg);
    } catch (error) {
      // A listener's bug must not break delivery to others or crash the process.
      process.emitWarning(error instanceof Error ? error : new Error(String(error)), {
        type: 'EtcdkitWatchListenerError',
        detail: 'a watch listener threw; the watch continues',
      });
    }
  }
}
