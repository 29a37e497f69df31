/**
 * A watch-backed mirror of a key prefix: one linearizable read gives a consistent snapshot at
 * a revision, then a watch from the revision after it keeps the mirror current. The watch
 * resumes by itself after disconnections, and re-reads the prefix after a compaction
 * (`onCompacted: 'resync'`); the difference is reported as changes.
 */
import { Buffer } from 'node:buffer';
import { toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import type { Client } from '../client.js';
import { CancelledError, EtcdError, internalError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Watch } from '../watch/watch.js';
import type { WatchItem } from '../watch/types.js';
import { checkCacheArgs } from './args.js';
import { keyId, makeDecoder } from './decode.js';
import { Listeners } from './listeners.js';
import { CacheStore } from './store.js';
import type { Effect } from './store.js';
import type { CacheEntry, CacheEvents, CacheOptions, CacheState, InvalidEntry } from './types.js';

const eventNames = ['change', 'invalid', 'resync', 'disconnected', 'reconnected', 'error'] as const;
const noop = () => {};

/**
 * A mirror of every key under a prefix, current as of {@link revision}. Create it with
 * {@link createCache}; `await cache.ready` before reading; `close()` it when done.
 */
export class PrefixCache<T = string> {
  /** The mirrored prefix, as text. */
  readonly prefix: string;
  readonly #prefix: Uint8Array;
  readonly #client: Client;
  readonly #store: CacheStore<T>;
  readonly #listeners = new Listeners<CacheEvents<T>>(eventNames, 'cache');
  readonly #loading = new AbortController();
  readonly #ready: Promise<void>;
  #settleReady: { resolve(): void; reject(error: EtcdError): void } | undefined;
  #state: CacheState = 'loading';
  #revision = 0n;
  #error: EtcdError | undefined;
  #watch: Watch | undefined;
  #pending: WatchItem[] = [];
  #flushQueued = false;
  #closing: Promise<void> | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => void this.close();

  /** @internal Use {@link createCache}. */
  constructor(client: Client, prefix: Uint8Array, options: CacheOptions<T>) {
    this.#client = client;
    this.#prefix = prefix;
    this.prefix = Buffer.from(prefix).toString('utf8');
    this.#store = new CacheStore(makeDecoder(options.schema, options.decode));
    this.#ready = new Promise<void>((resolve, reject) => (this.#settleReady = { resolve, reject }));
    this.#ready.catch(noop);
    this.#signal = options.signal;
  }

  /** @internal Starts loading (called once by {@link createCache}). */
  start(): void {
    const signal = this.#signal;
    if (signal?.aborted === true) {
      void this.close();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    void this.#load();
  }

  /**
   * Resolves once the first read is applied and the watch is created: from then on the cache
   * follows every change. Rejects with the typed error if the first read or the watch fails,
   * or with `CancelledError` if the cache is closed first. Never an unhandled rejection.
   */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** `loading`, `live`, `failed` or `closed`. */
  get state(): CacheState {
    return this.#state;
  }

  /** The revision the entries reflect: the prefix is exactly as it was at this revision (0n before the first read). */
  get revision(): bigint {
    return this.#revision;
  }

  /** Why the cache failed (state `failed`), else `undefined`. */
  get error(): EtcdError | undefined {
    return this.#error;
  }

  /** Number of valid entries. */
  get size(): number {
    return this.#store.entries.size;
  }

  /** The decoded value of `key` (full key), or `undefined` when absent or invalid. */
  get(key: Bytes): T | undefined {
    return this.entry(key)?.value;
  }

  /** The entry of `key` (full key), or `undefined` when absent or invalid. */
  entry(key: Bytes): CacheEntry<T> | undefined {
    return this.#store.entries.get(keyId(toBytes(key, 'key')));
  }

  /** Whether `key` has a valid entry. */
  has(key: Bytes): boolean {
    return this.entry(key) !== undefined;
  }

  /** Every valid entry, in key (byte) order. A copy: later changes do not affect it. */
  entries(): CacheEntry<T>[] {
    return [...this.#store.entries.values()].sort(byKey);
  }

  /** Keys whose stored value failed to decode, in key order (they are not among the entries). */
  invalidEntries(): InvalidEntry[] {
    return [...this.#store.invalid.values()].sort(byKey);
  }

  /**
   * Adds a listener. Listeners run synchronously in revision order; one that throws becomes a
   * process warning. See {@link CacheEvents}.
   * @throws InvalidArgumentError for an unknown event name.
   */
  on<K extends keyof CacheEvents<T>>(event: K, listener: CacheEvents<T>[K]): this {
    this.#listeners.on(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof CacheEvents<T>>(event: K, listener: CacheEvents<T>[K]): this {
    this.#listeners.off(event, listener);
    return this;
  }

  /**
   * Stops following: cancels the watch and drops the listeners. The entries stay readable as
   * they were. Idempotent; never rejects; leaves no timer or stream behind.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const wasDone = this.#state === 'failed';
    this.#state = 'closed';
    this.#loading.abort();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#rejectReady(
      new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'the cache was closed before it was ready', retryable: false }),
    );
    this.#listeners.clear();
    this.#pending = [];
    const watch = this.#watch;
    this.#watch = undefined;
    this.#closing = wasDone || watch === undefined ? Promise.resolve() : watch.cancel().catch(noop);
    return this.#closing;
  }

  // ---------------------------------------------------------------------------------------------

  async #load(): Promise<void> {
    let revision: bigint;
    try {
      const result = await this.#client.kv.get(this.#prefix, { prefix: true, signal: this.#loading.signal });
      if (this.#state !== 'loading') return;
      revision = result.header.revision;
      const effects: Effect<T>[] = [];
      this.#store.replace(result.kvs, revision, effects);
      this.#revision = revision;
      this.#report(effects);
      if (this.#state !== 'loading') return;
      const watch = this.#client.watch(this.#prefix, { prefix: true, startRevision: revision + 1n, onCompacted: 'resync' });
      this.#watch = watch;
      const enqueue = (item: WatchItem) => this.#enqueue(item);
      watch
        .on('event', enqueue)
        .on('resync', enqueue)
        .on('progress', enqueue)
        .on('disconnected', (error) => this.#listeners.emit('disconnected', error))
        .on('reconnected', () => this.#listeners.emit('reconnected', undefined))
        .on('end', (reason) => this.#onWatchEnd(reason));
      await watch.ready;
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#state !== 'loading') return;
    this.#state = 'live';
    const settle = this.#settleReady;
    this.#settleReady = undefined;
    settle?.resolve();
  }

  #enqueue(item: WatchItem): void {
    this.#pending.push(item);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Items of one response arrive synchronously: apply them together.
    queueMicrotask(() => this.#flush());
  }

  /** Applies queued watch items, one revision at a time, reporting each revision's changes. */
  #flush(): void {
    this.#flushQueued = false;
    const items = this.#pending;
    this.#pending = [];
    let i = 0;
    while (i < items.length && this.#state !== 'closed') {
      const item = items[i]!;
      const effects: Effect<T>[] = [];
      if (item.type === 'put' || item.type === 'delete') {
        const revision = item.revision;
        for (; i < items.length; i++) {
          const event = items[i]!;
          if ((event.type !== 'put' && event.type !== 'delete') || event.revision !== revision) break;
          if (event.type === 'put') this.#store.put(event.kv, revision, effects);
          else this.#store.delete(event.kv.key, revision, effects);
        }
        this.#revision = revision;
        this.#report(effects);
        continue;
      }
      i += 1;
      if (item.type === 'resync') {
        this.#store.replace(item.kvs, item.revision, effects);
        this.#revision = item.revision;
        this.#report(effects);
        this.#listeners.emit('resync', item.revision);
      } else if (item.type === 'progress' && item.revision > this.#revision) {
        this.#revision = item.revision;
      }
    }
  }

  #report(effects: readonly Effect<T>[]): void {
    for (const effect of effects) {
      if (this.#state === 'closed') return;
      if (effect.kind === 'change') this.#listeners.emit('change', effect.change);
      else this.#listeners.emit('invalid', effect.entry);
    }
  }

  #onWatchEnd(reason: EtcdError | undefined): void {
    if (reason === undefined || this.#state === 'closed' || this.#state === 'failed') return;
    // Whatever the watch delivered before it ended is still applied.
    if (this.#pending.length > 0) this.#flush();
    this.#fail(reason);
  }

  #fail(cause: unknown): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    const error = cause instanceof EtcdError ? cause : internalError(cause, { idempotent: true });
    this.#state = 'failed';
    this.#error = error;
    this.#loading.abort();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const watch = this.#watch;
    this.#watch = undefined;
    if (watch !== undefined && !watch.ended) void watch.cancel().catch(noop);
    this.#rejectReady(error);
    this.#listeners.emit('error', error);
    this.#listeners.clear();
  }

  #rejectReady(error: EtcdError): void {
    const settle = this.#settleReady;
    this.#settleReady = undefined;
    settle?.reject(error);
  }
}

function byKey(a: { kv: { key: Uint8Array } }, b: { kv: { key: Uint8Array } }): number {
  return Buffer.compare(a.kv.key, b.kv.key);
}

/**
 * Mirrors every key under `prefix` (`''` for the whole keyspace). Values are the value text,
 * or JSON validated by `options.schema`, or what `options.decode` returns; values that fail
 * are reported (`invalid`) and left out.
 *
 * ```ts
 * const cache = createCache(client, 'config/', { schema: z.object({ on: z.boolean() }) });
 * cache.on('change', (c) => console.log(c.type, c.key));
 * await cache.ready;
 * cache.get('config/feature-x')?.on;
 * await cache.close();
 * ```
 *
 * @throws InvalidArgumentError naming the argument at fault.
 */
export function createCache<T = string>(client: Client, prefix: Bytes, options?: CacheOptions<T>): PrefixCache<T> {
  const checked = checkCacheArgs(client, prefix, options);
  const cache = new PrefixCache<T>(client, checked.prefix, checked.options);
  cache.start();
  return cache;
}
