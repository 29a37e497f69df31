/**
 * The queue behind one iteration of a Discovery. A consumer that falls behind gets the net
 * change per instance since it last read (e.g. added-then-removed cancels out), so the queue
 * never holds more than one change per key: memory is bounded by the number of instances.
 */
import type { EtcdError } from '../errors.js';
import type { DiscoveryChange } from './types.js';

interface Waiter<M> {
  resolve(result: IteratorResult<DiscoveryChange<M>>): void;
  reject(error: unknown): void;
}

const done = Object.freeze({ done: true, value: undefined }) as IteratorResult<never>;

/** Net pending changes by instance key, plus the consumer waiting for the next one. */
export class ChangeQueue<M> {
  readonly #pending = new Map<string, DiscoveryChange<M>>();
  #waiter: Waiter<M> | undefined;
  #ended = false;
  #failure: EtcdError | undefined;

  /** Changes waiting to be read. */
  get length(): number {
    return this.#pending.size;
  }

  /** Adds a change, merging it with a pending change of the same instance. */
  push(change: DiscoveryChange<M>): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: change });
      return;
    }
    const key = change.instance.key;
    const queued = this.#pending.get(key);
    this.#pending.delete(key);
    const merged = queued === undefined ? change : merge(queued, change);
    if (merged !== undefined) this.#pending.set(key, merged);
  }

  /** Ends the iteration: after the pending changes when `failure` is given (then it throws), at once otherwise. */
  end(failure: EtcdError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = failure;
    if (failure === undefined) this.#pending.clear();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) this.#finish(waiter);
  }

  next(): Promise<IteratorResult<DiscoveryChange<M>>> {
    const first = this.#pending.entries().next();
    if (first.done !== true) {
      const [key, change] = first.value;
      this.#pending.delete(key);
      return Promise.resolve({ done: false, value: change });
    }
    if (this.#ended) return new Promise((resolve, reject) => this.#finish({ resolve, reject }));
    if (this.#waiter !== undefined) return Promise.reject(new TypeError('discovery iterator: next() called before the previous one settled'));
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  #finish(waiter: Waiter<M>): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) waiter.reject(failure);
    else waiter.resolve(done);
  }
}

/** The net effect of `first` then `second` on one instance (`undefined`: nothing happened). */
function merge<M>(first: DiscoveryChange<M>, second: DiscoveryChange<M>): DiscoveryChange<M> | undefined {
  const revision = second.revision;
  switch (first.type) {
    case 'added':
      if (second.type === 'removed') return undefined;
      return { type: 'added', instance: second.instance, revision };
    case 'updated':
      if (second.type === 'removed') return { type: 'removed', instance: first.previous, revision };
      return { type: 'updated', instance: second.instance, previous: first.previous, revision };
    case 'removed':
      if (second.type === 'removed') return first;
      return { type: 'updated', instance: second.instance, previous: first.instance, revision };
  }
}
