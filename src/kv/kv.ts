/**
 * The KV API: get, put, delete, compact and transactions over the client's invoker.
 */
import type { Bytes } from '../bytes.js';
import { toCompactResult, toDeleteResult, toGetResult, toPutResult, toTxnResult } from '../convert.js';
import type { Invoke } from '../balancer/invoke.js';
import type { Init, TxnRequest } from '../protocol/messages.generated.js';
import { checkOptions } from './args.js';
import { buildCompactRequest, buildDeleteRequest, buildPutRequest, buildRangeRequest } from './requests.js';
import { TxnBuilder } from './txn.js';
import type {
  CallOptions,
  CompactOptions,
  CompactResult,
  DeleteOptions,
  DeleteResult,
  GetOptions,
  GetResult,
  Int64,
  PutOptions,
  PutResult,
  TxnResult,
} from './types.js';

/** Options of `kv.getAll` (every key; no key range selector). */
export type GetAllOptions = Omit<GetOptions, 'prefix' | 'rangeEnd' | 'fromKey'>;
/** Options of `kv.deleteAll` (every key; no key range selector). */
export type DeleteAllOptions = Omit<DeleteOptions, 'prefix' | 'rangeEnd' | 'fromKey'>;

/**
 * Key-value operations. Keys and values are bytes; strings are taken as UTF-8.
 * Every method rejects with an `EtcdError` subclass; bad arguments reject with
 * `InvalidArgumentError` before anything is sent.
 */
export class KV {
  readonly #rpc: Invoke;

  /** @internal Created by the client (`client.kv`). */
  constructor(rpc: Invoke) {
    this.#rpc = rpc;
  }

  /**
   * Reads a key, or a range with `prefix` / `rangeEnd` / `fromKey`.
   * Linearizable unless `serializable` is set. Retried on transient unavailability.
   */
  get(key: Bytes, options?: GetOptions): Promise<GetResult> {
    let request;
    try {
      request = buildRangeRequest(key, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'Range', request, options).then(toGetResult);
  }

  /** Reads every key (key `\0`, range end `\0`). */
  getAll(options?: GetAllOptions): Promise<GetResult> {
    let request;
    try {
      request = buildRangeRequest(null, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'Range', request, options).then(toGetResult);
  }

  /** Writes a key. Never retried automatically (a failed put may have been applied). */
  put(key: Bytes, value: Bytes, options?: PutOptions): Promise<PutResult> {
    let request;
    try {
      request = buildPutRequest(key, value, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'Put', request, options).then(toPutResult);
  }

  /** Deletes a key, or a range with `prefix` / `rangeEnd` / `fromKey`. */
  delete(key: Bytes, options?: DeleteOptions): Promise<DeleteResult> {
    let request;
    try {
      request = buildDeleteRequest(key, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'DeleteRange', request, options).then(toDeleteResult);
  }

  /** Deletes every key. */
  deleteAll(options?: DeleteAllOptions): Promise<DeleteResult> {
    let request;
    try {
      request = buildDeleteRequest(null, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'DeleteRange', request, options).then(toDeleteResult);
  }

  /** Compacts the history up to `revision` (reads below it then fail with CompactedError). */
  compact(revision: Int64, options?: CompactOptions): Promise<CompactResult> {
    let request;
    try {
      checkOptions(options);
      request = buildCompactRequest(revision, options?.physical);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('KV', 'Compact', request, options).then(toCompactResult);
  }

  /** Starts a transaction: `kv.txn().if(...).then(...).else(...).commit()`. */
  txn(): TxnBuilder {
    return new TxnBuilder(this.#commit);
  }

  readonly #commit = (request: Init<TxnRequest>, options: CallOptions | undefined): Promise<TxnResult> =>
    this.#rpc.invoke('KV', 'Txn', request, options).then(toTxnResult);
}
