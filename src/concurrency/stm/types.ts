/**
 * Public types of the software transactional memory (`runStm`).
 */
import type { ZodType } from 'zod';
import type { Bytes } from '../../bytes.js';
import type { Int64 } from '../../kv/types.js';

/**
 * How a transaction is isolated from concurrent writers (Go's `concurrency.Isolation`):
 *
 * - `'serializable-snapshot'` (default): every read sees one snapshot (the revision of the
 *   attempt's first read); the commit fails if a key read was modified since it was read, or a
 *   key written was modified after the snapshot. Serializable, and no lost updates to blind writes.
 * - `'serializable'`: the same snapshot reads; the commit checks only the keys read.
 * - `'repeatable-reads'`: each key is read once per attempt (from the answering member, not
 *   pinned to one revision); the commit checks the keys read.
 * - `'read-committed'`: reads as `'repeatable-reads'`, no checks: the commit always applies.
 *   Promises nothing about concurrent transactions (updates can be lost).
 */
export type StmIsolation = 'serializable-snapshot' | 'serializable' | 'repeatable-reads' | 'read-committed';

/** Options of `runStm`. */
export interface StmOptions {
  /** Isolation level; default `'serializable-snapshot'`. */
  isolation?: StmIsolation;
  /**
   * How many times a conflicting attempt is retried (default 50); after `maxRetries + 1`
   * attempts `runStm` rejects with `StmConflictError`. `0` means a single attempt.
   */
  maxRetries?: number;
  /**
   * Aborts the transaction: `runStm` rejects with `CancelledError` at once (even while the
   * function is still running), pending reads reject, and nothing is committed. A commit
   * already sent is let finish (so its outcome is known); the abort then only takes effect if
   * that commit conflicted.
   */
  signal?: AbortSignal;
  /** Keys read at the start of every attempt, before the function runs (they join the read set). */
  prefetch?: readonly Bytes[];
}

/** Options of `stm.put`. */
export interface StmPutOptions {
  /** Attach the key to this lease (absent or 0: no lease). */
  lease?: Int64;
}

/**
 * One attempt of a software transaction, handed to the function given to `runStm`.
 * Reads go to etcd (or the attempt's caches); writes are buffered and sent in the commit.
 * Do not use it after the function returned.
 */
export interface Stm {
  /** The isolation level. */
  readonly isolation: StmIsolation;
  /** Which attempt this is, from 1. */
  readonly attempt: number;
  /** The `signal` passed to `runStm` (a signal that never aborts when none was). */
  readonly signal: AbortSignal;
  /**
   * The key's value: the attempt's own pending write if there is one (`undefined` after
   * `delete`), else the value read from etcd, `undefined` when the key does not exist.
   * A read from etcd adds the key to the read set.
   */
  get(key: Bytes): Promise<Uint8Array | undefined>;
  /** {@link get}, decoded as UTF-8. */
  getText(key: Bytes): Promise<string | undefined>;
  /**
   * {@link get}, parsed as JSON (and validated by `schema` when given).
   * Rejects with `ValueDecodeError` naming the key when the value does not parse or match.
   */
  getJson<T = unknown>(key: Bytes, schema?: ZodType<T>): Promise<T | undefined>;
  /**
   * The key's mod revision as read from etcd (`0n` when it does not exist). Adds the key to
   * the read set; the attempt's own pending writes do not change it.
   */
  rev(key: Bytes): Promise<bigint>;
  /** Buffers a write of the key (replacing an earlier write of the same key in this attempt). */
  put(key: Bytes, value: Bytes, options?: StmPutOptions): void;
  /** Buffers `JSON.stringify(data)` as the key's value. */
  putJson(key: Bytes, data: unknown, options?: StmPutOptions): void;
  /** Buffers a deletion of the key. */
  delete(key: Bytes): void;
}

/** The function `runStm` runs, once per attempt. */
export type StmApply<T> = (stm: Stm) => T | Promise<T>;
