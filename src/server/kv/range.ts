import { keySpan } from '../mvcc/key-span.js';
import { withoutValue } from '../mvcc/key-value.js';
import type { ReadView } from '../mvcc/read-view.js';
import {
  RangeRequest_SortOrder as Order,
  RangeRequest_SortTarget as Target,
  type KeyValue,
  type RangeRequest,
  type RangeResponse,
} from '../wire.js';

/**
 * KV.Range against a view, etcd's way: count before limit and filters; sort; truncate to
 * limit with `more`; keys_only drops values. The header carries only the view's revision.
 */
export function executeRange(view: ReadView, r: RangeRequest): RangeResponse {
  const limit = toLimit(r.limit);
  const rr = view.rangeKeys(keySpan(r.key, r.range_end), r.revision, {
    limit: fetchLimit(r, limit),
    countOnly: r.count_only,
  });
  let kvs = filterKvs(rr.kvs, r);
  kvs = sortKvs(kvs, r);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (r.keys_only) kvs = kvs.map(withoutValue);
  return { header: { revision: rr.rev }, kvs, more, count: BigInt(rr.count) };
}

function toLimit(limit: bigint): number {
  if (limit <= 0n || limit >= BigInt(Number.MAX_SAFE_INTEGER)) return 0;
  return Number(limit);
}

const isDefaultOrdering = (target: number, order: number): boolean =>
  order === Order.NONE || (target === Target.KEY && order === Order.ASCEND);

const hasRevisionFilters = (r: RangeRequest): boolean =>
  r.min_mod_revision !== 0n || r.max_mod_revision !== 0n || r.min_create_revision !== 0n || r.max_create_revision !== 0n;

/**
 * How many kvs to collect: everything when a re-sort or filter follows, else limit + 1 to
 * learn `more`. (As in etcd, a sort target with order NONE sorts only the fetched page.)
 */
function fetchLimit(r: RangeRequest, limit: number): number {
  if (!isDefaultOrdering(r.sort_target, r.sort_order) || hasRevisionFilters(r)) return 0;
  return limit > 0 ? limit + 1 : 0;
}

function filterKvs(kvs: KeyValue[], r: RangeRequest): KeyValue[] {
  if (!hasRevisionFilters(r)) return kvs;
  const { max_mod_revision: maxMod, min_mod_revision: minMod } = r;
  const { max_create_revision: maxCreate, min_create_revision: minCreate } = r;
  return kvs.filter(
    (kv) =>
      (maxMod === 0n || kv.mod_revision <= maxMod) &&
      (minMod === 0n || kv.mod_revision >= minMod) &&
      (maxCreate === 0n || kv.create_revision <= maxCreate) &&
      (minCreate === 0n || kv.create_revision >= minCreate),
  );
}

const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

const comparators: Record<number, (a: KeyValue, b: KeyValue) => number> = {
  [Target.KEY]: (a, b) => cmpBytes(a.key, b.key),
  [Target.VERSION]: (a, b) => cmpBig(a.version, b.version),
  [Target.CREATE]: (a, b) => cmpBig(a.create_revision, b.create_revision),
  [Target.MOD]: (a, b) => cmpBig(a.mod_revision, b.mod_revision),
  [Target.VALUE]: (a, b) => cmpBytes(a.value, b.value),
};

/** Input is in key order; the sort is stable, so equal targets keep key order. */
function sortKvs(kvs: KeyValue[], r: RangeRequest): KeyValue[] {
  let order = r.sort_order;
  if (r.sort_target !== Target.KEY && order === Order.NONE) order = Order.ASCEND;
  if (isDefaultOrdering(r.sort_target, order)) return kvs;
  if (r.sort_target === Target.KEY && order === Order.DESCEND) return kvs.slice().reverse();
  const asc = comparators[r.sort_target]!;
  const compare = order === Order.DESCEND ? (a: KeyValue, b: KeyValue) => asc(b, a) : asc;
  return kvs.slice().sort(compare);
}
