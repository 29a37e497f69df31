/**
 * A distributed FIFO queue on a key prefix (Go's `recipe.Queue` layout): each item is a key
 * `<prefix>/<unix nanoseconds>` created only if absent, ordered by its create revision;
 * dequeue removes the oldest item with a transaction guarded by its mod revision, and waits on
 * a watch when the queue is empty. See `docs/stm.md`.
 */
import { Buffer } from 'node:buffer';
import type { Client } from '../client.js';
import { bytesToText, toBytes, toKey } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import type { KeyValue } from '../convert.js';
import { CancelledError, describeInput, EtcdError, InvalidArgumentError } from '../errors.js';
import { checkOptions } from '../kv/args.js';
import { Compare, Op } from '../kv/txn.js';
import { optionalSignal } from '../lease/args.js';
import { GrpcCode } from '../protocol/error-table.js';

/** Options of `enqueue` and `dequeue`. */
export interface QueueCallOptions {
  /** Aborting stops the call; it rejects with `CancelledError`. */
  signal?: AbortSignal;
}

/** Where an enqueued item was stored. */
export interface EnqueueResult {
  /** The item's key, `<prefix>/<unix nanoseconds>`. */
  readonly key: Uint8Array;
  /** {@link key} as text. */
  readonly keyText: string;
  /** The revision that created it: its place in the queue. */
  readonly revision: bigint;
}

/** Fresh names tried when a key is taken (another producer picked the same nanosecond). */
const maxNameAttempts = 16;
/** Attempts of one write refused before it was applied (no leader, too many requests, ...). */
const maxWriteAttempts = 4;
const firstBackoffMs = 50;

let lastName = 0n;

/**
 * Unix time in nanoseconds (microsecond precision, from the monotonic clock anchored at
 * process start), strictly increasing within this process.
 */
function uniqueNanos(): bigint {
  let now = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
  if (now <= lastName) now = lastName + 1n;
  lastName = now;
  return now;
}

function aborted(signal: AbortSignal, what: string): CancelledError {
  return new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: `${what}: aborted`, retryable: false, cause: signal.reason });
}

/** Throws the typed abort error when `signal` has aborted. */
function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw aborted(signal, what);
}

/** Sleeps `ms`, or until `signal` aborts (then rejects). */
function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(aborted(signal, what));
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal!, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True for a write refused before etcd applied anything, which may succeed if sent again. */
function refusedUnapplied(error: unknown): error is EtcdError {
  return (
    error instanceof EtcdError &&
    error.retryable &&
    !error.mayHaveBeenApplied &&
    error.code !== GrpcCode.CANCELLED &&
    error.code !== GrpcCode.DEADLINE_EXCEEDED
  );
}

/**
 * A multi-producer, multi-consumer FIFO queue stored under `<prefix>/`. Every item is
 * dequeued at most once, and exactly once unless a dequeue fails with an error whose
 * `mayHaveBeenApplied` is true (see `docs/stm.md`). The queue holds no resources: there is
 * nothing to close.
 *
 * ```ts
 * const jobs = new Queue(client, 'jobs');
 * await jobs.enqueue(JSON.stringify({ id: 1 }));
 * const item = await jobs.dequeue({ signal }); // waits while the queue is empty
 * console.log(item.json());
 * ```
 */
export class Queue {
  /** The queue's name as given (text). */
  readonly name: string;
  /** `<prefix>/`: every key under it is an item. */
  readonly prefix: Uint8Array;
  readonly #client: Client;

  /** @throws InvalidArgumentError for a bad client or an empty prefix. */
  constructor(client: Client, prefix: Bytes) {
    const candidate = client as { kv?: { txn?: unknown; get?: unknown }; watch?: unknown } | null | undefined;
    if (typeof candidate?.kv?.txn !== 'function' || typeof candidate.kv.get !== 'function' || typeof candidate.watch !== 'function') {
      throw new InvalidArgumentError('client', `expected an etcdkit Client, got ${describeInput(client)}`);
    }
    const name = toKey(prefix, 'prefix');
    this.#client = client;
    this.name = bytesToText(name);
    this.prefix = Buffer.concat([name, Buffer.from('/')]);
  }

  /**
   * Adds an item at the tail: creates `<prefix>/<unix nanoseconds>` (only if absent; a taken
   * name is replaced by a fresh one). A write refused before it was applied is retried a few
   * times; a failure after it was sent (`mayHaveBeenApplied`) is reported, never retried,
   * since the item may already be in the queue, or even consumed.
   */
  async enqueue(value: Bytes, options?: QueueCallOptions): Promise<EnqueueResult> {
    const data = toBytes(value, 'value');
    const signal = parseCallOptions(options);
    for (let n = 0; n < maxNameAttempts; n++) {
      const key = Buffer.concat([this.prefix, Buffer.from(uniqueNanos().toString(), 'latin1')]);
      const result = await this.#write(
        () => this.#client.kv.txn().if(Compare.createRevision(key, '==', 0)).then(Op.put(key, data)).commit({ signal }),
        signal,
        'enqueue',
      );
      if (result.succeeded) return { key, keyText: bytesToText(key), revision: result.header.revision };
    }
    throw new EtcdError({
      code: GrpcCode.ABORTED,
      etcdMessage: `queue ${JSON.stringify(this.name)}: no free item key after ${maxNameAttempts} names`,
      retryable: true,
    });
  }

  /**
   * Removes the oldest item (lowest create revision) and resolves with it as it was stored
   * (`value`, `valueText`, `json()`; `createRevision` is its place in the queue). While the
   * queue is empty it waits for the next item. Safe with any number of concurrent consumers:
   * each item goes to exactly one of them.
   *
   * Aborting `signal` while it waits rejects with `CancelledError`, removes nothing and leaves
   * no watch behind. An item whose removal was already sent is returned even if the signal
   * aborts meanwhile, so it is never lost to an abort.
   */
  async dequeue(options?: QueueCallOptions): Promise<KeyValue> {
    const signal = parseCallOptions(options);
    for (;;) {
      checkAborted(signal, 'dequeue');
      const { header, kvs } = await this.#client.kv.get(this.prefix, {
        prefix: true,
        sort: { target: 'create', order: 'ascend' },
        limit: 1,
        signal,
      });
      const oldest = kvs[0] ?? (await this.#nextPut(header.revision + 1n, signal));
      if (oldest === undefined) continue;
      checkAborted(signal, 'dequeue');
      if (await this.#claim(oldest, signal)) return oldest;
    }
  }

  /**
   * Waits for the first put under the prefix from `startRevision`. Resolves `undefined` when the
   * queue must be read again (history compacted, or the watch ended by itself).
   */
  async #nextPut(startRevision: bigint, signal: AbortSignal | undefined): Promise<KeyValue | undefined> {
    const watch = this.#client.watch(this.prefix, { prefix: true, startRevision, filters: { noDelete: true }, signal });
    let ended: EtcdError | undefined;
    watch.on('end', (reason) => (ended = reason));
    try {
      for await (const item of watch) {
        if (item.type === 'put') return item.kv;
        if (item.type === 'compacted') return undefined;
      }
    } finally {
      await watch.cancel();
    }
    checkAborted(signal, 'dequeue');
    if (ended !== undefined) throw ended;
    return undefined;
  }

  /**
   * Deletes `item` if it is unchanged since it was read. Sent without the caller's signal, so
   * the outcome is known. After a failure that may have been applied, the item is read again:
   * still there unchanged means the delete did not happen and it is retried; gone means it may
   * have been this delete, and the error is reported.
   */
  async #claim(item: KeyValue, signal: AbortSignal | undefined): Promise<boolean> {
    for (let n = 1; ; n++) {
      try {
        const result = await this.#client.kv
          .txn()
          .if(Compare.modRevision(item.key, '==', item.modRevision))
          .then(Op.delete(item.key))
          .commit();
        return result.succeeded;
      } catch (error) {
        if (!(error instanceof EtcdError) || n >= maxWriteAttempts) throw error;
        if (error.mayHaveBeenApplied) {
          const now = (await this.#client.kv.get(item.key)).kvs[0];
          if (now === undefined || now.modRevision !== item.modRevision) throw error;
        } else if (!refusedUnapplied(error)) {
          throw error;
        }
      }
      await pause(firstBackoffMs * 2 ** (n - 1), signal, 'dequeue');
    }
  }

  /** Runs a write, retrying (with backoff) only refusals that provably did not apply it. */
  async #write<T>(send: () => Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await send();
      } catch (error) {
        if (!refusedUnapplied(error) || n >= maxWriteAttempts) throw error;
      }
      await pause(firstBackoffMs * 2 ** (n - 1), signal, what);
    }
  }
}

function parseCallOptions(options: QueueCallOptions | undefined): AbortSignal | undefined {
  checkOptions(options);
  for (const name of Object.keys(options ?? {})) {
    if (name !== 'signal') throw new InvalidArgumentError(`options.${name}`, 'unknown option (expected signal)');
  }
  return optionalSignal(options?.signal);
}
