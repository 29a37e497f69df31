/**
 * Service discovery: the instances registered under `<service>/`, in Go's endpoint format,
 * kept current by a prefix cache (consistent snapshot, then a watch that survives reconnects
 * and compaction). Entries that are not valid endpoints are reported and skipped.
 */
import { Buffer } from 'node:buffer';
import type { Client } from '../client.js';
import type { EtcdError } from '../errors.js';
import { checkClient, checkSchema } from '../cache/args.js';
import { Listeners } from '../cache/listeners.js';
import { PrefixCache } from '../cache/prefix-cache.js';
import type { CacheChange, CacheState, InvalidEntry } from '../cache/types.js';
import { checkOptions, optionalSignal } from '../lease/args.js';
import { ChangeQueue } from './change-queue.js';
import { decodeEndpoint } from './endpoint-json.js';
import { checkService } from './args.js';
import type { DiscoverOptions, DiscoveryChange, DiscoveryEvents, ServiceInstance } from './types.js';

const eventNames = ['change', 'invalid', 'disconnected', 'reconnected', 'error'] as const;

/**
 * The live set of instances of a service. Create it with {@link discover}; `await ready`,
 * then read {@link snapshot}, listen to `change`, or iterate; `close()` when done.
 */
export class Discovery<M = unknown> implements AsyncIterable<DiscoveryChange<M>> {
  /** The service name (keys are `<service>/<addr>`). */
  readonly service: string;
  readonly #cache: PrefixCache<ServiceInstance<M>>;
  readonly #listeners = new Listeners<DiscoveryEvents<M>>(eventNames, 'discovery');
  readonly #queues = new Set<ChangeQueue<M>>();
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => void this.close();

  /** @internal Use {@link discover}. */
  constructor(client: Client, service: string, options: DiscoverOptions<M>) {
    this.service = service;
    const schema = options.metadataSchema;
    this.#cache = new PrefixCache<ServiceInstance<M>>(client, Buffer.from(`${service}/`), {
      decode: (kv) => {
        const { addr, metadata } = decodeEndpoint(kv, schema);
        return { key: kv.keyText, addr, metadata, leaseId: kv.lease, revision: kv.modRevision };
      },
    });
    this.#cache
      .on('change', (change) => this.#onChange(change))
      .on('invalid', (entry) => this.#listeners.emit('invalid', entry))
      .on('disconnected', (error) => this.#listeners.emit('disconnected', error))
      .on('reconnected', () => this.#listeners.emit('reconnected', undefined))
      .on('error', (error) => this.#onError(error));
    // The signal closes the discovery (not just its cache), so that iterations complete.
    this.#signal = options.signal;
    if (this.#signal?.aborted === true) {
      void this.close();
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#cache.start();
  }

  /** Resolves once the instances are read and changes are followed; rejects with the typed error if that fails. */
  get ready(): Promise<void> {
    return this.#cache.ready;
  }

  /** `loading`, `live`, `failed` or `closed`. */
  get state(): CacheState {
    return this.#cache.state;
  }

  /** The revision the instances reflect. */
  get revision(): bigint {
    return this.#cache.revision;
  }

  /** Why discovery failed (state `failed`). */
  get error(): EtcdError | undefined {
    return this.#cache.error;
  }

  /** Number of instances. */
  get size(): number {
    return this.#cache.size;
  }

  /** The instances now, in key order (a copy). */
  snapshot(): ServiceInstance<M>[] {
    return this.#cache.entries().map((entry) => entry.value);
  }

  /** The addresses of the instances now, in key order. */
  addresses(): string[] {
    return this.snapshot().map((instance) => instance.addr);
  }

  /** Entries under the service that are not valid endpoints now (skipped). */
  invalidEntries(): InvalidEntry[] {
    return this.#cache.invalidEntries();
  }

  /**
   * Adds a listener (see {@link DiscoveryEvents}); one that throws becomes a process warning.
   * @throws InvalidArgumentError for an unknown event name.
   */
  on<K extends keyof DiscoveryEvents<M>>(event: K, listener: DiscoveryEvents<M>[K]): this {
    this.#listeners.on(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof DiscoveryEvents<M>>(event: K, listener: DiscoveryEvents<M>[K]): this {
    this.#listeners.off(event, listener);
    return this;
  }

  /**
   * Iterates the changes: first every instance present when the iteration starts (as
   * `added`), then each change. A consumer that falls behind receives the net change per
   * instance. Leaving the loop ends this iteration only; {@link close} ends all of them
   * (they complete). After a failure the iterator throws the error.
   */
  [Symbol.asyncIterator](): AsyncIterator<DiscoveryChange<M>> {
    const queue = new ChangeQueue<M>();
    const state = this.#cache.state;
    if (state === 'closed') queue.end(undefined);
    else {
      for (const instance of this.snapshot()) queue.push({ type: 'added', instance, revision: this.revision });
      if (state === 'failed') queue.end(this.#cache.error);
      else this.#queues.add(queue);
    }
    return {
      next: () => queue.next(),
      return: () => {
        this.#queues.delete(queue);
        queue.end(undefined);
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** Stops following changes: iterations complete, listeners are dropped. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const queue of this.#queues) queue.end(undefined);
    this.#queues.clear();
    this.#listeners.clear();
    return this.#cache.close();
  }

  #onChange(change: CacheChange<ServiceInstance<M>>): void {
    let out: DiscoveryChange<M>;
    if (change.type === 'added') out = { type: 'added', instance: change.entry.value, revision: change.revision };
    else if (change.type === 'removed') out = { type: 'removed', instance: change.previous.value, revision: change.revision };
    else {
      // A re-registration on a new lease rewrites the same value: not a change of the instance.
      if (Buffer.compare(change.entry.kv.value, change.previous.kv.value) === 0) return;
      out = { type: 'updated', instance: change.entry.value, previous: change.previous.value, revision: change.revision };
    }
    for (const queue of this.#queues) queue.push(out);
    this.#listeners.emit('change', out);
  }

  #onError(error: EtcdError): void {
    for (const queue of this.#queues) queue.end(error);
    this.#queues.clear();
    this.#listeners.emit('error', error);
  }
}

/**
 * Discovers the instances of `service`: every key `<service>/...` holding Go's endpoint JSON
 * (`{"Op":0,"Addr":...,"Metadata":...}`), whoever registered it (etcdkit's `register`, Go's
 * endpoints manager, etcdctl).
 *
 * ```ts
 * const api = discover(client, 'services/api');
 * api.on('change', (c) => console.log(c.type, c.instance.addr));
 * await api.ready;
 * console.log(api.addresses());
 * ```
 *
 * @throws InvalidArgumentError naming the argument at fault.
 */
export function discover<M = unknown>(client: Client, service: string, options?: DiscoverOptions<M>): Discovery<M> {
  checkClient(client);
  checkService(service);
  checkOptions(options);
  if (options?.metadataSchema !== undefined) checkSchema(options.metadataSchema, 'options.metadataSchema');
  const signal = optionalSignal(options?.signal);
  return new Discovery<M>(client, service, { metadataSchema: options?.metadataSchema, signal });
}
