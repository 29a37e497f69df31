/**
 * Public types of the watch-backed prefix cache.
 */
import type { ZodType } from 'zod';
import type { KeyValue } from '../convert.js';
import type { EtcdError, ValueDecodeError } from '../errors.js';

/** One key of the cache with its decoded value. */
export interface CacheEntry<T> {
  /** The full key, as text. */
  readonly key: string;
  /** The decoded value (the value text without `schema`/`decode`). */
  readonly value: T;
  /** The stored key-value (bytes, revisions, lease). */
  readonly kv: KeyValue;
}

/** A change of the cache's entries, at `revision`. */
export type CacheChange<T> =
  | { readonly type: 'added'; readonly key: string; readonly entry: CacheEntry<T>; readonly revision: bigint }
  | {
      readonly type: 'updated';
      readonly key: string;
      readonly entry: CacheEntry<T>;
      readonly previous: CacheEntry<T>;
      readonly revision: bigint;
    }
  | { readonly type: 'removed'; readonly key: string; readonly previous: CacheEntry<T>; readonly revision: bigint };

/** A stored value that failed to decode: the key is left out of the entries. */
export interface InvalidEntry {
  /** The full key, as text. */
  readonly key: string;
  /** The stored key-value that failed. */
  readonly kv: KeyValue;
  /** What is wrong with it (names the key). */
  readonly error: ValueDecodeError;
  /** Revision at which it was seen. */
  readonly revision: bigint;
}

/**
 * States of a cache: `loading` (first read and watch creation), `live`, `failed` (the watch
 * or the first read failed for good; see {@link PrefixCache.error}), `closed`.
 */
export type CacheState = 'loading' | 'live' | 'failed' | 'closed';

/** Listener signatures of a {@link PrefixCache}, by event. */
export interface CacheEvents<T> {
  /**
   * An entry was added, updated or removed. The first read reports every entry as `added`;
   * all changes of one revision are applied before the first of them is reported.
   */
  change: (change: CacheChange<T>) => void;
  /** A stored value failed to decode; its key is not among the entries until a valid value is stored. */
  invalid: (entry: InvalidEntry) => void;
  /** The history the cache needed was compacted; it re-read the prefix and reported the difference as changes. */
  resync: (revision: bigint) => void;
  /** The connection broke; the cache is current as of {@link PrefixCache.revision} and catches up by itself. */
  disconnected: (error: EtcdError) => void;
  /** The cache is following changes again after a disconnection. */
  reconnected: () => void;
  /** The cache failed for good (state `failed`): the first read failed, the watch was refused, or the client closed. */
  error: (error: EtcdError) => void;
}

/** Options of `createCache`. */
export interface CacheOptions<T> {
  /** Parse each value as JSON and validate it; invalid values are reported and left out. */
  schema?: ZodType<T>;
  /**
   * Decode each stored key-value yourself (instead of `schema`); throwing marks the value
   * invalid (the error is reported as a `ValueDecodeError` naming the key).
   */
  decode?: (kv: KeyValue) => T;
  /** Aborting closes the cache. */
  signal?: AbortSignal;
}
