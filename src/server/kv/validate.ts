import { etcdError } from '../errors.js';
import { keyString } from '../mvcc/key-span.js';
import {
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from '../wire.js';

/**
 * Request checks done before a KV request touches the store (etcd's v3rpc key.go): shape
 * errors only, no state is read.
 */

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

const sortOrders = new Set<number>(Object.values(RangeRequest_SortOrder));
const sortTargets = new Set<number>(Object.values(RangeRequest_SortTarget));

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw etcdError('keyNotProvided');
  if (!sortOrders.has(r.sort_order) || !sortTargets.has(r.sort_target)) throw etcdError('invalidSortOption');
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw etcdError('keyNotProvided');
  if (r.ignore_value && r.value.length !== 0) throw etcdError('valueProvided');
  if (r.ignore_lease && r.lease !== 0n) throw etcdError('leaseProvided');
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw etcdError('keyNotProvided');
}

/**
 * Op-count limit (the largest of compare/success/failure; nested txns get what is left),
 * empty keys anywhere, empty RequestOps; then the duplicate-key rule on both branches.
 */
export function checkTxnRequest(r: TxnRequest, maxOps = MAX_TXN_OPS): void {
  checkTxnShape(r, maxOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnShape(r: TxnRequest, maxOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxOps) throw etcdError('tooManyOps');
  for (const c of r.compare) if (c.key.length === 0) throw etcdError('keyNotProvided');
  for (const op of r.success) checkRequestOp(op, maxOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxOps - opc);
}

function checkRequestOp(op: RequestOp, maxOps: number): void {
  if (op.request_range !== undefined) checkRangeRequest(op.request_range);
  else if (op.request_put !== undefined) checkPutRequest(op.request_put);
  else if (op.request_delete_range !== undefined) checkDeleteRequest(op.request_delete_range);
  else if (op.request_txn !== undefined) checkTxnShape(op.request_txn, maxOps);
  else throw etcdError('keyNotFound');
}

/**
 * An interval of store keys as etcd's duplicate check sees it: [begin, end) where an empty
 * `end` is +infinity. A point k is [k, k + "\0"). A from-key range ("\0" end) is the empty
 * interval [k, "\0"), so it never clashes (etcd's behaviour, kept on purpose).
 */
interface Interval {
  readonly begin: string;
  readonly end: string;
}

/** Affine string order where "" is +infinity. */
function cmp(a: string, b: string): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function overlaps(a: Interval, b: Interval): boolean {
  return cmp(a.begin, b.end) < 0 && cmp(b.begin, a.end) < 0;
}

const point = (k: string): Interval => ({ begin: k, end: `${k}\0` });

class Intervals {
  readonly list: Interval[] = [];
  intersects(key: string): boolean {
    const p = point(key);
    return this.list.some((iv) => overlaps(iv, p));
  }
  /** Adds every interval of `other` overlapping [\0, +inf), as etcd's Union does. */
  union(other: Intervals): void {
    const bound: Interval = { begin: '\0', end: '' };
    for (const iv of other.list) if (overlaps(iv, bound)) this.list.push(iv);
  }
}

/**
 * etcd's checkIntervals: per op list, puts may not repeat a key or fall in a delete range of
 * the same level; puts and deletes of nested txns count at the parent level, except that a
 * nested txn's success and failure branches may put the same key.
 */
function checkIntervals(reqs: readonly RequestOp[]): { puts: Set<string>; dels: Intervals } {
  const dels = new Intervals();
  for (const op of reqs) {
    const d = op.request_delete_range;
    if (d === undefined) continue;
    const begin = keyString(d.key);
    dels.list.push(d.range_end.length !== 0 ? { begin, end: keyString(d.range_end) } : point(begin));
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    const t = op.request_txn;
    if (t === undefined) continue;
    const then = checkIntervals(t.success);
    const otherwise = checkIntervals(t.failure);
    for (const k of then.puts) {
      if (puts.has(k) || dels.intersects(k)) throw etcdError('duplicateKey');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw etcdError('duplicateKey');
      if (dels.intersects(k)) throw etcdError('duplicateKey');
      puts.add(k);
    }
    dels.union(then.dels);
    dels.union(otherwise.dels);
  }
  for (const op of reqs) {
    const p = op.request_put;
    if (p === undefined) continue;
    const k = keyString(p.key);
    if (puts.has(k) || dels.intersects(k)) throw etcdError('duplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}
