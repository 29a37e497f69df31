/**
 * Builders of KV wire requests from the public arguments, with input checks. Used by both
 * the direct calls (`kv.get`, ...) and transaction operations (`Op.get`, ...).
 */
import { toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import { RangeRequest_SortOrder, RangeRequest_SortTarget } from '../protocol/messages.generated.js';
import type {
  CompactionRequest,
  DeleteRangeRequest,
  Init,
  PutRequest,
  RangeRequest,
} from '../protocol/messages.generated.js';
import { checkOptions, optionalFlag, oneOf, toInt64 } from './args.js';
import { resolveRange, wholeKeyspace } from './range.js';
import type { KeyRange } from './range.js';
import type { DeleteOpOptions, Int64, PutOpOptions, RangeOptions } from './types.js';

const sortTargets = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
} as const;

const sortOrders = {
  none: RangeRequest_SortOrder.NONE,
  ascend: RangeRequest_SortOrder.ASCEND,
  descend: RangeRequest_SortOrder.DESCEND,
} as const;

/** Builds a RangeRequest for `key` (or the whole keyspace when `key` is null). */
export function buildRangeRequest(key: Bytes | null, options: RangeOptions | undefined): Init<RangeRequest> {
  checkOptions(options);
  const range = key === null ? wholeKeyspace() : resolveRange(key, options);
  if (options === undefined) return range;
  const request: Init<RangeRequest> = range;
  if (options.limit !== undefined) request.limit = toInt64(options.limit, 'options.limit', 0n);
  if (options.revision !== undefined) request.revision = toInt64(options.revision, 'options.revision', 0n);
  if (options.sort !== undefined) {
    const sort = options.sort;
    if (sort === null || typeof sort !== 'object') {
      throw new InvalidArgumentError('options.sort', 'expected an object { target?, order? }');
    }
    const target = sort.target === undefined ? sortTargets.key : oneOf(sort.target, sortTargets, 'options.sort.target');
    let order: number;
    if (sort.order !== undefined) order = oneOf(sort.order, sortOrders, 'options.sort.order');
    else order = target === sortTargets.key ? sortOrders.none : sortOrders.ascend;
    request.sort_target = target as RangeRequest_SortTarget;
    request.sort_order = order as RangeRequest_SortOrder;
  }
  if (options.serializable !== undefined) request.serializable = optionalFlag(options.serializable, 'options.serializable');
  if (options.keysOnly !== undefined) request.keys_only = optionalFlag(options.keysOnly, 'options.keysOnly');
  if (options.countOnly !== undefined) request.count_only = optionalFlag(options.countOnly, 'options.countOnly');
  if (options.minModRevision !== undefined) {
    request.min_mod_revision = toInt64(options.minModRevision, 'options.minModRevision', 0n);
  }
  if (options.maxModRevision !== undefined) {
    request.max_mod_revision = toInt64(options.maxModRevision, 'options.maxModRevision', 0n);
  }
  if (options.minCreateRevision !== undefined) {
    request.min_create_revision = toInt64(options.minCreateRevision, 'options.minCreateRevision', 0n);
  }
  if (options.maxCreateRevision !== undefined) {
    request.max_create_revision = toInt64(options.maxCreateRevision, 'options.maxCreateRevision', 0n);
  }
  return request;
}

/** Builds a PutRequest. */
export function buildPutRequest(key: Bytes, value: Bytes, options: PutOpOptions | undefined): Init<PutRequest> {
  checkOptions(options);
  const request: Init<PutRequest> = resolveRange(key, undefined);
  request.value = toBytes(value, 'value');
  if (options === undefined) return request;
  if (options.lease !== undefined) request.lease = toInt64(options.lease, 'options.lease');
  if (options.prevKv !== undefined) request.prev_kv = optionalFlag(options.prevKv, 'options.prevKv');
  if (options.ignoreValue !== undefined) request.ignore_value = optionalFlag(options.ignoreValue, 'options.ignoreValue');
  if (options.ignoreLease !== undefined) request.ignore_lease = optionalFlag(options.ignoreLease, 'options.ignoreLease');
  return request;
}

/** Builds a DeleteRangeRequest for `key` (or the whole keyspace when `key` is null). */
export function buildDeleteRequest(key: Bytes | null, options: DeleteOpOptions | undefined): Init<DeleteRangeRequest> {
  checkOptions(options);
  const request: Init<DeleteRangeRequest> & KeyRange = key === null ? wholeKeyspace() : resolveRange(key, options);
  if (options?.prevKv !== undefined) request.prev_kv = optionalFlag(options.prevKv, 'options.prevKv');
  return request;
}

/** Builds a CompactionRequest. */
export function buildCompactRequest(revision: Int64, physical: unknown): Init<CompactionRequest> {
  return { revision: toInt64(revision, 'revision', 1n), physical: optionalFlag(physical, 'options.physical') };
}
