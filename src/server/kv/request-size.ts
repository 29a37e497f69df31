import { encode } from '../../protocol/codec.js';
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../wire.js';
import type { WriteRequest } from './kv-applier.js';

/** What etcd adds around a request in its internal raft envelope (id, user, auth revision). */
export const ENVELOPE_BYTES = 20;

/**
 * etcd's "request is too large" rule: the encoded request plus its internal envelope above
 * `maxBytes`. A cheap upper bound settles ordinary requests; only big ones are re-encoded.
 */
export function requestTooLarge(w: WriteRequest, maxBytes: number): boolean {
  if (upperBound(w) + ENVELOPE_BYTES <= maxBytes) return false;
  return exactSize(w) + ENVELOPE_BYTES > maxBytes;
}

function exactSize(w: WriteRequest): number {
  switch (w.kind) {
    case 'put':
      return encode('etcdserverpb.PutRequest', w.request).length;
    case 'deleteRange':
      return encode('etcdserverpb.DeleteRangeRequest', w.request).length;
    case 'txn':
      return encode('etcdserverpb.TxnRequest', w.request).length;
  }
}

// Generous per-message overheads (tags, length prefixes, 10-byte varints for every number).
const PUT = 48;
const DELETE = 32;
const RANGE = 160;
const COMPARE = 64;
const OP = 16;

function upperBound(w: WriteRequest): number {
  switch (w.kind) {
    case 'put':
      return putBound(w.request);
    case 'deleteRange':
      return deleteBound(w.request);
    case 'txn':
      return txnBound(w.request);
  }
}

const putBound = (p: PutRequest): number => PUT + p.key.length + p.value.length;
const deleteBound = (d: DeleteRangeRequest): number => DELETE + d.key.length + d.range_end.length;
const rangeBound = (r: RangeRequest): number => RANGE + r.key.length + r.range_end.length;
const compareBound = (c: Compare): number => COMPARE + c.key.length + c.range_end.length + (c.value?.length ?? 0);

function opBound(op: RequestOp): number {
  if (op.request_put !== undefined) return OP + putBound(op.request_put);
  if (op.request_delete_range !== undefined) return OP + deleteBound(op.request_delete_range);
  if (op.request_range !== undefined) return OP + rangeBound(op.request_range);
  if (op.request_txn !== undefined) return OP + txnBound(op.request_txn);
  return OP;
}

function txnBound(t: TxnRequest): number {
  let n = OP;
  for (const c of t.compare) n += compareBound(c);
  for (const op of t.success) n += opBound(op);
  for (const op of t.failure) n += opBound(op);
  return n;
}
