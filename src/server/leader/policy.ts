import type * as M from '../../protocol/messages.generated.js';

/**
 * What a unary call needs from the leader when its member has none (etcd 3.5):
 * - local: answered from the member's own state (serializable reads, Status, ...);
 * - consensus: a raft proposal or a linearizable read: waits for a leader, then fails with
 *   `etcdserver: request timed out`;
 * - forward: forwarded to the leader (LeaseTimeToLive): waits, then fails with
 *   `etcdserver: no leader`.
 */
export type LeaderNeed = 'local' | 'consensus' | 'forward';

type Policy = (request: unknown) => LeaderNeed;

const consensus: Policy = () => 'consensus';
const local: Policy = () => 'local';

/** etcd's isTxnReadonly: every op of both branches is a range (nested txns are writes). */
function txnReadOnly(r: M.TxnRequest): boolean {
  return [...r.success, ...r.failure].every((op) => op.request_range !== undefined);
}

/** etcd's isTxnSerializable: every range op asks for a serializable read. */
function txnSerializable(r: M.TxnRequest): boolean {
  return [...r.success, ...r.failure].every((op) => op.request_range === undefined || op.request_range.serializable);
}

/** Leader needs of the unary methods, by `Service.Method`; unknown methods are `local`. */
const policies: Readonly<Record<string, Policy>> = {
  'KV.Range': (r) => ((r as M.RangeRequest).serializable ? 'local' : 'consensus'),
  'KV.Put': consensus,
  'KV.DeleteRange': consensus,
  'KV.Txn': (r) => {
    const t = r as M.TxnRequest;
    return txnReadOnly(t) && txnSerializable(t) ? 'local' : 'consensus';
  },
  'KV.Compact': consensus,
  'Lease.LeaseGrant': consensus,
  'Lease.LeaseRevoke': consensus,
  'Lease.LeaseTimeToLive': () => 'forward',
  'Lease.LeaseLeases': local,
  'Cluster.MemberList': (r) => ((r as M.MemberListRequest).linearizable ? 'consensus' : 'local'),
  'Maintenance.Alarm': consensus,
  // Status, Hash, HashKV, Defragment answer locally; MoveLeader checks leadership itself.
};

/** What `Service.Method` with this request needs from the leader. */
export function leaderNeed(method: string, request: unknown): LeaderNeed {
  return policies[method]?.(request) ?? 'local';
}
