import { etcdError } from '../errors.js';
import type { LeaseAttachments } from '../mvcc/lease-hook.js';
import type { ReadView } from '../mvcc/read-view.js';
import type { MvccStore } from '../mvcc/store.js';
import type { WriteTxn } from '../mvcc/write-txn.js';
import type { RangeRequest, RequestOp, ResponseOp, TxnRequest, TxnResponse } from '../wire.js';
import { comparesHold } from './compare.js';
import { executeRange } from './range.js';
import { applyDeleteRange, applyPut, checkPutState } from './write-ops.js';

/** The branch a txn (and, recursively, each nested txn on it) takes. */
interface TxnPlan {
  readonly succeeded: boolean;
  readonly ops: readonly RequestOp[];
  readonly nested: ReadonlyMap<TxnRequest, TxnPlan>;
}

/**
 * KV.Txn, as etcd applies it: every compare (nested ones included) is evaluated against the
 * state before the txn; then every op on the chosen path is checked (range revisions, put
 * leases and ignore_* keys) before anything is written; then the ops run in order in one
 * write transaction (later ops see earlier writes), committing at most one revision.
 * The returned header carries only the revision.
 */
export function applyTxn(store: MvccStore, r: TxnRequest): TxnResponse {
  const before = store.read();
  const plan = planTxn(before, r);
  checkPlan(before, store.leases, plan);
  return store.write((txn) => {
    const resp = executePlan(txn, plan);
    return { ...resp, header: { revision: txn.rev } };
  });
}

/** Whether a txn has any write op (puts, deletes or nested txns) in either branch. */
export function isTxnReadOnly(r: TxnRequest): boolean {
  const rangeOnly = (op: RequestOp) => op.request_range !== undefined;
  return r.success.every(rangeOnly) && r.failure.every(rangeOnly);
}

function planTxn(view: ReadView, r: TxnRequest): TxnPlan {
  const succeeded = comparesHold(view, r.compare);
  const ops = succeeded ? r.success : r.failure;
  const nested = new Map<TxnRequest, TxnPlan>();
  for (const op of ops) if (op.request_txn !== undefined) nested.set(op.request_txn, planTxn(view, op.request_txn));
  return { succeeded, ops, nested };
}

/** etcd 3.4/3.5 order: every put on the path first, then every range, whatever the op order. */
function checkPlan(view: ReadView, leases: LeaseAttachments, plan: TxnPlan): void {
  forEachOnPath(plan, (op) => {
    if (op.request_put !== undefined) checkPutState(view, leases, op.request_put);
  });
  forEachOnPath(plan, (op) => {
    if (op.request_range !== undefined) checkRangeRevision(view, op.request_range);
  });
}

/** Visits every op on the chosen path, depth first, in request order. */
function forEachOnPath(plan: TxnPlan, visit: (op: RequestOp) => void): void {
  for (const op of plan.ops) {
    visit(op);
    if (op.request_txn !== undefined) forEachOnPath(plan.nested.get(op.request_txn)!, visit);
  }
}

function checkRangeRevision(view: ReadView, r: RangeRequest): void {
  if (r.revision === 0n) return;
  if (r.revision > view.rev) throw etcdError('futureRevision');
  if (r.revision < view.firstRev) throw etcdError('compacted');
}

function executePlan(txn: WriteTxn, plan: TxnPlan): TxnResponse {
  const responses: ResponseOp[] = plan.ops.map((op): ResponseOp => {
    if (op.request_range !== undefined) return { response_range: executeRange(txn, op.request_range) };
    if (op.request_put !== undefined) return { response_put: applyPut(txn, op.request_put) };
    if (op.request_delete_range !== undefined) return { response_delete_range: applyDeleteRange(txn, op.request_delete_range) };
    if (op.request_txn !== undefined) {
      // a nested txn's response has a present but empty header
      return { response_txn: { ...executePlan(txn, plan.nested.get(op.request_txn)!), header: {} } };
    }
    return {};
  });
  return { succeeded: plan.succeeded, responses };
}
