/**
 * Public option and result types of the KV API.
 */
import type { Bytes } from '../bytes.js';
import type { KeyValue, ResponseHeader } from '../convert.js';
import type { CallOptions } from '../options.js';

export type { CallOptions };

/** A 64-bit integer argument: a `bigint`, or a safe integer `number`. */
export type Int64 = bigint | number;

/** Which keys an operation covers besides the single key (mutually exclusive). */
export interface RangeSelector {
  /** Every key starting with the given key (an empty key then means every key). */
  prefix?: boolean;
  /** Every key from the given key up to, not including, `rangeEnd`. */
  rangeEnd?: Bytes;
  /** Every key greater than or equal to the given key. */
  fromKey?: boolean;
}

/** What to sort a range by. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
/** Sort direction (`'none'` leaves key order). */
export type SortOrder = 'none' | 'ascend' | 'descend';

/** Options of a range read, without the per-call options (what `Op.get` takes). */
export interface RangeOptions extends RangeSelector {
  /** Return at most this many keys (0 = no limit); `more` tells whether some were left out. */
  limit?: Int64;
  /** Read the keyspace as of this revision (0 = current). */
  revision?: Int64;
  /** Sort order; a target without an order sorts ascending. */
  sort?: { target?: SortTarget; order?: SortOrder };
  /** Serve from the member's local state without a quorum round-trip (may be stale). */
  serializable?: boolean;
  /** Return keys and metadata without values. */
  keysOnly?: boolean;
  /** Return only the count. */
  countOnly?: boolean;
  /** Only keys whose last modification revision is >= this. */
  minModRevision?: Int64;
  /** Only keys whose last modification revision is <= this. */
  maxModRevision?: Int64;
  /** Only keys created at a revision >= this. */
  minCreateRevision?: Int64;
  /** Only keys created at a revision <= this. */
  maxCreateRevision?: Int64;
}

/** Options of `kv.get`. */
export interface GetOptions extends RangeOptions, CallOptions {}

/** Options of a put, without the per-call options (what `Op.put` takes). */
export interface PutOpOptions {
  /** Attach the key to this lease (0 or absent: no lease; detaches a previous one). */
  lease?: Int64;
  /** Return the previous key-value in `prevKv`. */
  prevKv?: boolean;
  /** Keep the current value (the key must exist, and `value` must be empty). */
  ignoreValue?: boolean;
  /** Keep the current lease (the key must exist, and `lease` must be unset). */
  ignoreLease?: boolean;
}

/** Options of `kv.put`. */
export interface PutOptions extends PutOpOptions, CallOptions {}

/** Options of a delete, without the per-call options (what `Op.delete` takes). */
export interface DeleteOpOptions extends RangeSelector {
  /** Return the deleted key-values in `prevKvs`. */
  prevKv?: boolean;
}

/** Options of `kv.delete`. */
export interface DeleteOptions extends DeleteOpOptions, CallOptions {}

/** Options of `kv.compact`. */
export interface CompactOptions extends CallOptions {
  /** Return only once the compaction has reached the storage backend. */
  physical?: boolean;
}

/** Result of a range read. */
export interface GetResult {
  header: ResponseHeader;
  /** Matching key-values (empty with `countOnly`). */
  kvs: KeyValue[];
  /** True when `limit` cut the result short. */
  more: boolean;
  /** Number of keys in the range, before `limit` and the min/max filters. */
  count: bigint;
}

/** Result of a put. */
export interface PutResult {
  header: ResponseHeader;
  /** The previous key-value, when `prevKv` was asked for and the key existed. */
  prevKv?: KeyValue;
}

/** Result of a delete. */
export interface DeleteResult {
  header: ResponseHeader;
  /** Number of keys deleted. */
  deleted: bigint;
  /** The deleted key-values, when `prevKv` was asked for. */
  prevKvs: KeyValue[];
}

/** Result of a compaction. */
export interface CompactResult {
  header: ResponseHeader;
}

/** Result of a transaction. */
export interface TxnResult {
  header: ResponseHeader;
  /** True when every compare held (the `then` branch ran), false when `else` ran. */
  succeeded: boolean;
  /** One result per operation of the branch that ran, in order. */
  responses: TxnOpResult[];
}

/**
 * Result of one transaction operation. Inner results carry only `header.revision`
 * (etcd leaves the rest of inner headers empty; a nested txn's header is all zero).
 */
export type TxnOpResult =
  | ({ type: 'get' } & GetResult)
  | ({ type: 'put' } & PutResult)
  | ({ type: 'delete' } & DeleteResult)
  | ({ type: 'txn' } & TxnResult);
