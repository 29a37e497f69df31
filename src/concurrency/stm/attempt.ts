/**
 * One attempt of a software transaction: its read set (keys read, with the mod revision seen),
 * its write set (buffered puts and deletes), reads pinned to one snapshot revision for the
 * snapshot levels, and the guarded commit transaction of its isolation level.
 */
import { Buffer } from 'node:buffer';
import type { ZodType } from 'zod';
import type { Client } from '../../client.js';
import { KeyValue } from '../../convert.js';
import { bytesToText, toBytes, toKey } from '../../bytes.js';
import type { Bytes } from '../../bytes.js';
import { CancelledError, CompactedError, describeInput, FutureRevisionError, InvalidArgumentError } from '../../errors.js';
import { GrpcCode } from '../../protocol/error-table.js';
import type { GetResult } from '../../kv/types.js';
import { checkOptions } from '../../kv/args.js';
import { Compare, Op } from '../../kv/txn.js';
import type { Stm, StmApply, StmIsolation, StmPutOptions } from './types.js';

/** A key as read in this attempt. */
export interface ReadEntry {
  readonly key: Uint8Array;
  /** The key's state, `undefined` when it did not exist. */
  readonly kv: KeyValue | undefined;
  /** The revision the state is as of. */
  readonly revision: bigint;
}

/** Reads handed from a conflicting commit to the next attempt (the commit's `else` branch). */
export interface Carried {
  /** The revision of the failed commit: the next attempt's snapshot. */
  readonly revision: bigint;
  readonly reads: ReadonlyMap<string, ReadEntry>;
}

/** How an attempt ended, unless it threw. */
export type AttemptOutcome<T> =
  | { readonly kind: 'committed'; readonly value: T }
  /** Retry; `carried` holds fresh reads when the level has them. */
  | { readonly kind: 'conflict'; readonly carried: Carried | undefined };

interface WriteEntry {
  readonly key: Uint8Array;
  /** The written value, `undefined` for a delete. */
  readonly value: Uint8Array | undefined;
  readonly op: Op;
}

/** What ended the attempt early: an RPC error, or a snapshot compacted away (restart). */
interface Failure {
  readonly error: unknown;
  readonly restart: boolean;
}

export interface AttemptInit {
  readonly client: Client;
  readonly isolation: StmIsolation;
  readonly attempt: number;
  /** The caller's signal, passed to every read. */
  readonly callSignal: AbortSignal | undefined;
  /** What `stm.signal` shows. */
  readonly signal: AbortSignal;
  readonly carried: Carried | undefined;
}

const putOptionNames = ['lease'];
const noop = () => undefined;

/** The error of a transaction stopped by its signal before its commit was sent. */
export function stmAborted(signal: AbortSignal): CancelledError {
  return new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'stm: aborted', retryable: false, cause: signal.reason });
}

/**
 * Settles like `work`, or rejects with the typed abort error as soon as `signal` aborts (the
 * function may be stuck on something that ignores the signal; its late outcome is dropped).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  work.catch(noop);
  if (signal.aborted) return Promise.reject(stmAborted(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stmAborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Map key of a byte key (latin1 maps every byte to one char, so it is lossless). */
function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** A private copy of caller bytes (the attempt keeps them until the commit). */
function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

export class StmAttempt implements Stm {
  readonly isolation: StmIsolation;
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly #client: Client;
  readonly #callSignal: AbortSignal | undefined;
  /** Reads are pinned to one revision (the snapshot levels). */
  readonly #pinned: boolean;
  readonly #reads = new Map<string, ReadEntry>();
  readonly #pending = new Map<string, Promise<ReadEntry>>();
  readonly #writes = new Map<string, WriteEntry>();
  readonly #carried: Map<string, ReadEntry>;
  #snapshot: bigint | undefined;
  /** The attempt's first read while it is in flight (it fixes the snapshot). */
  #pinning: Promise<GetResult> | undefined;
  #failure: Failure | undefined;
  #ended = false;

  constructor(init: AttemptInit) {
    this.isolation = init.isolation;
    this.attempt = init.attempt;
    this.signal = init.signal;
    this.#client = init.client;
    this.#callSignal = init.callSignal;
    this.#pinned = init.isolation === 'serializable-snapshot' || init.isolation === 'serializable';
    this.#carried = new Map(init.carried?.reads);
    if (this.#pinned && init.carried !== undefined) this.#snapshot = init.carried.revision;
  }

  async get(key: Bytes): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    const bytes = toKey(key, 'key');
    const write = this.#writes.get(keyId(bytes));
    if (write !== undefined) return write.value;
    return (await this.#read(bytes)).kv?.value;
  }

  async getText(key: Bytes): Promise<string | undefined> {
    const value = await this.get(key);
    return value === undefined ? undefined : bytesToText(value);
  }

  async getJson<T = unknown>(key: Bytes, schema?: ZodType<T>): Promise<T | undefined> {
    const value = await this.get(key);
    if (value === undefined) return undefined;
    return new KeyValue(toKey(key, 'key'), value, 0n, 0n, 0n, 0n).json(schema);
  }

  async rev(key: Bytes): Promise<bigint> {
    this.#checkOpen();
    return (await this.#read(toKey(key, 'key'))).kv?.modRevision ?? 0n;
  }

  put(key: Bytes, value: Bytes, options?: StmPutOptions): void {
    this.#checkOpen();
    const bytes = copy(toKey(key, 'key'));
    const data = copy(toBytes(value, 'value'));
    checkOptions(options);
    for (const name of Object.keys(options ?? {})) {
      if (!putOptionNames.includes(name)) throw new InvalidArgumentError(`options.${name}`, 'unknown option (expected lease)');
    }
    const lease = options?.lease;
    const op = Op.put(bytes, data, lease === undefined ? undefined : { lease });
    this.#writes.set(keyId(bytes), { key: bytes, value: data, op });
  }

  putJson(key: Bytes, data: unknown, options?: StmPutOptions): void {
    const text = JSON.stringify(data);
    if (text === undefined) throw new InvalidArgumentError('data', `cannot be stored as JSON: ${describeInput(data)}`);
    this.put(key, text, options);
  }

  delete(key: Bytes): void {
    this.#checkOpen();
    const bytes = copy(toKey(key, 'key'));
    this.#writes.set(keyId(bytes), { key: bytes, value: undefined, op: Op.delete(bytes) });
  }

  /**
   * Runs the attempt: prefetch, the function, then (if nothing failed) the commit. Rejects
   * with the function's error or a read's error; a snapshot lost to compaction and a commit
   * whose guards failed both end as `conflict`.
   */
  async run<T>(apply: StmApply<T>, prefetch: readonly Uint8Array[]): Promise<AttemptOutcome<T>> {
    let value: T | undefined;
    let thrown: { readonly error: unknown } | undefined;
    try {
      if (prefetch.length > 0) await Promise.all(prefetch.map((key) => this.#read(key)));
      value = await untilAborted(Promise.resolve().then(() => apply(this)), this.#callSignal);
    } catch (error) {
      thrown = { error };
    }
    // Reads the function started without awaiting still belong to the read set.
    this.#ended = true;
    await Promise.allSettled([...this.#pending.values()]);
    const failure = this.#failure;
    if (failure !== undefined) {
      if (failure.restart) return { kind: 'conflict', carried: undefined };
      throw failure.error;
    }
    if (thrown !== undefined) throw thrown.error;
    if (this.#callSignal?.aborted === true) throw stmAborted(this.#callSignal);
    return this.#commit(value as T);
  }

  /**
   * The commit: the write set guarded by the level's compares. It is sent without the
   * caller's signal, so its outcome is always known (bounded by the client's call deadline).
   */
  async #commit<T>(value: T): Promise<AttemptOutcome<T>> {
    const reads = [...this.#reads.values()];
    const writes = [...this.#writes.values()];
    const compares: Compare[] = [];
    if (this.isolation !== 'read-committed') {
      for (const read of reads) compares.push(Compare.modRevision(read.key, '==', read.kv?.modRevision ?? 0n));
    }
    if (this.isolation === 'serializable-snapshot' && reads.length > 0) {
      let first = reads[0]!.revision;
      for (const read of reads) if (read.revision < first) first = read.revision;
      for (const write of writes) compares.push(Compare.modRevision(write.key, '<', first + 1n));
    }
    if (compares.length === 0 && writes.length === 0) return { kind: 'committed', value };
    // The snapshot levels re-read the read set when the guards fail: the next attempt starts with it.
    const rereads = this.#pinned ? reads.map((read) => Op.get(read.key)) : [];
    const result = await this.#client.kv
      .txn()
      .if(...compares)
      .then(...writes.map((write) => write.op))
      .else(...rereads)
      .commit();
    if (result.succeeded) return { kind: 'committed', value };
    if (!this.#pinned) return { kind: 'conflict', carried: undefined };
    const revision = result.header.revision;
    const carried = new Map<string, ReadEntry>();
    reads.forEach((read, i) => {
      const response = result.responses[i];
      const kv = response?.type === 'get' ? response.kvs[0] : undefined;
      carried.set(keyId(read.key), { key: read.key, kv, revision });
    });
    return { kind: 'conflict', carried: { revision, reads: carried } };
  }

  #checkOpen(): void {
    if (this.#ended) {
      throw new InvalidArgumentError('stm', 'used after its attempt ended (use it only inside the function given to runStm, and await its reads)');
    }
  }

  /** The key's read-set entry: cached, carried from the last commit, in flight, or fetched now. */
  #read(key: Uint8Array): Promise<ReadEntry> {
    this.#checkOpen();
    const id = keyId(key);
    const done = this.#reads.get(id);
    if (done !== undefined) return Promise.resolve(done);
    const carried = this.#carried.get(id);
    if (carried !== undefined) {
      this.#carried.delete(id);
      this.#reads.set(id, carried);
      return Promise.resolve(carried);
    }
    let pending = this.#pending.get(id);
    if (pending === undefined) {
      const own = copy(key);
      pending = this.#fetch(own).then(
        (entry) => {
          this.#reads.set(id, entry);
          this.#pending.delete(id);
          return entry;
        },
        (error: unknown) => {
          this.#pending.delete(id);
          this.#failure ??= { error, restart: error instanceof CompactedError && this.#pinned };
          throw error;
        },
      );
      // A read nobody awaits must not become an unhandled rejection: its failure is recorded above.
      pending.catch(noop);
      this.#pending.set(id, pending);
    }
    return pending;
  }

  async #fetch(key: Uint8Array): Promise<ReadEntry> {
    const signal = this.#callSignal;
    if (!this.#pinned) {
      const result = await this.#client.kv.get(key, { serializable: true, signal });
      return { key, kv: result.kvs[0], revision: result.header.revision };
    }
    if (this.#snapshot === undefined) {
      if (this.#pinning === undefined) {
        // The first read of the attempt is linearizable; its revision becomes the snapshot.
        this.#pinning = this.#client.kv.get(key, { signal }).then((result) => {
          this.#snapshot = result.header.revision;
          return result;
        });
        const result = await this.#pinning;
        return { key, kv: result.kvs[0], revision: result.header.revision };
      }
      await this.#pinning;
    }
    const revision = this.#snapshot!;
    let result: GetResult;
    try {
      result = await this.#client.kv.get(key, { revision, serializable: true, signal });
    } catch (error) {
      // A member behind the snapshot cannot serve it locally: ask for a linearizable read instead.
      if (!(error instanceof FutureRevisionError)) throw error;
      result = await this.#client.kv.get(key, { revision, signal });
    }
    return { key, kv: result.kvs[0], revision };
  }
}
