import { etcdError } from '../errors.js';
import type { LeaseAttachments } from '../mvcc/lease-hook.js';
import { keySpan, keyString } from '../mvcc/key-span.js';
import type { ReadView } from '../mvcc/read-view.js';
import type { WriteTxn } from '../mvcc/write-txn.js';
import type { DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse } from '../wire.js';

/** A private copy of received bytes (decoded fields are views into the request buffer). */
const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/** State checks of a Put made before writing (etcd's checkPut): ignore_* need the key. */
export function checkPutState(view: ReadView, leases: LeaseAttachments, p: PutRequest): void {
  if ((p.ignore_value || p.ignore_lease) && view.get(keyString(p.key)) === undefined) throw etcdError('keyNotFound');
  checkPutLease(leases, p);
}

/** A nonzero lease must exist. */
export function checkPutLease(leases: LeaseAttachments, p: PutRequest): void {
  if (p.lease !== 0n && !leases.has(p.lease)) throw etcdError('leaseNotFound');
}

/** KV.Put inside a write transaction; the header carries only the new revision. */
export function applyPut(txn: WriteTxn, p: PutRequest): PutResponse {
  const needPrev = p.ignore_value || p.ignore_lease || p.prev_kv;
  const prev = needPrev ? txn.get(keyString(p.key)) : undefined;
  if ((p.ignore_value || p.ignore_lease) && prev === undefined) throw etcdError('keyNotFound');
  const value = p.ignore_value ? prev!.value : copy(p.value);
  const lease = p.ignore_lease ? prev!.lease : p.lease;
  txn.put(copy(p.key), value, lease);
  return { header: { revision: txn.beginRev + 1n }, prev_kv: p.prev_kv ? prev : undefined };
}

/** KV.DeleteRange inside a write transaction; prev_kvs in key order. */
export function applyDeleteRange(txn: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse {
  const deleted = txn.deleteRange(keySpan(d.key, d.range_end));
  return {
    header: { revision: txn.rev },
    deleted: BigInt(deleted.length),
    prev_kvs: d.prev_kv ? deleted : undefined,
  };
}
