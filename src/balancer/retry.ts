/**
 * The retry policy: which RPCs may be repeated, which failures are worth repeating, which
 * calls carry etcd's require-leader metadata, and the backoff (p-retry).
 *
 * - Repeatable calls (reads and calls whose repetition is harmless, clientv3's table) are
 *   retried, on another endpoint when there is one, after UNAVAILABLE-class failures: a broken
 *   or refused connection, `no leader`, `leader changed`, `request timed out`, `server
 *   stopped`, an endpoint that stopped answering.
 * - Everything else is at-most-once: a failed write is never sent again (it may have been
 *   applied). A write is only "retried" in the sense that, before it is sent, the client waits
 *   for a usable endpoint; once it has been handed to a connection it is never repeated.
 * - Errors a retry cannot fix (bad argument, permission denied, compacted, ...), the call's
 *   own deadline and abort, and "no endpoint reachable within the dial timeout" end the call.
 */
import pRetry from 'p-retry';
import { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';

/**
 * RPCs that are safe to repeat after a transient failure (clientv3's "repeatable" policy):
 * reads and calls whose repetition is harmless. Everything else is at-most-once.
 */
const repeatable: ReadonlySet<string> = new Set([
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.Lease/LeaseGrant',
  '/etcdserverpb.Lease/LeaseRevoke',
  '/etcdserverpb.Lease/LeaseTimeToLive',
  '/etcdserverpb.Lease/LeaseLeases',
  '/etcdserverpb.Cluster/MemberList',
  '/etcdserverpb.Maintenance/Alarm',
  '/etcdserverpb.Maintenance/Status',
  '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV',
  '/etcdserverpb.Maintenance/MoveLeader',
  '/etcdserverpb.Auth/UserList',
  '/etcdserverpb.Auth/UserGet',
  '/etcdserverpb.Auth/RoleGet',
  '/etcdserverpb.Auth/RoleList',
]);

/**
 * RPCs sent with etcd's require-leader metadata (`hasleader: true`): a member without a
 * leader refuses them at once with `etcdserver: no leader` (nothing applied) instead of
 * holding them until its request timeout (~7 s) and answering `request timed out`, after which
 * a write's fate is unknown. Serializable reads are exempt (see {@link requiresLeader}):
 * reading a leaderless member's local state is their purpose. Maintenance, cluster and auth
 * calls are sent as they are.
 */
const leaderRequired: ReadonlySet<string> = new Set([
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
  '/etcdserverpb.Lease/LeaseGrant',
  '/etcdserverpb.Lease/LeaseRevoke',
  '/etcdserverpb.Lease/LeaseTimeToLive',
]);

const rangePath = '/etcdserverpb.KV/Range';

/** Whether the RPC at `path` may be repeated after a transient failure. */
export function isRepeatable(path: string): boolean {
  return repeatable.has(path);
}

/** Whether the call at `path` with `request` is sent with require-leader metadata. */
export function requiresLeader(path: string, request: unknown): boolean {
  if (!leaderRequired.has(path)) return false;
  return path !== rangePath || (request as { serializable?: unknown } | null)?.serializable !== true;
}

/** Errors meaning "no endpoint could be reached within the dial timeout" (final). */
const dialFailures = new WeakSet<object>();

/** Marks `error` as the failure to reach any endpoint within the dial timeout. */
export function markDialFailure<E extends EtcdError>(error: E): E {
  dialFailures.add(error);
  return error;
}

/** True for the error a call gets when no endpoint became ready within the dial timeout. */
export function isDialFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && dialFailures.has(error);
}

/**
 * Whether a failed attempt of a repeatable call should be retried: an UNAVAILABLE-class
 * failure (transport broke, no leader, leader changed, timed out, stopped, endpoint stopped
 * answering), or a stream the server side reset (CANCELLED not caused by the caller, who is
 * handled before this), that the error itself marks retryable. Deadlines are final: they are
 * the caller's budget. So is the dial timeout: no endpoint answered for that long.
 */
export function shouldRetry(error: unknown): boolean {
  return (
    error instanceof EtcdError &&
    error.retryable &&
    (error.code === GrpcCode.UNAVAILABLE || error.code === GrpcCode.CANCELLED) &&
    !dialFailures.has(error)
  );
}

/**
 * Bounds of the retry loop. The delay is capped low because the failure retried most often is
 * a cluster electing a leader: its members refuse leader-bound calls at once until they have
 * one (usually within 1-3 s), and a read should be served soon after, not a long backoff
 * later. The call's deadline bounds the loop in time; the count bounds it in work.
 */
export const retryPolicy = {
  /** Attempts after the first (at the capped delay, about 7 s of retrying: etcd's request timeout). */
  retries: 30,
  /** First backoff delay, doubling up to `maxDelayMs`, with random jitter. */
  minDelayMs: 25,
  maxDelayMs: 250,
} as const;

/**
 * Retries a repeatable call whose first attempt failed with `firstError`: waits a jittered
 * backoff, runs `attempt` again, and so on while {@link shouldRetry} holds, the deadline has
 * not passed and `signal` is not aborted. Resolves with the first success; otherwise rejects
 * with the last error (or the signal's reason when aborted).
 */
export function retryAfter<T>(
  firstError: EtcdError,
  attempt: () => Promise<T>,
  deadline: number,
  signal: AbortSignal,
): Promise<T> {
  return pRetry((n) => (n === 1 ? Promise.reject(firstError) : attempt()), {
    retries: retryPolicy.retries,
    minTimeout: retryPolicy.minDelayMs,
    maxTimeout: retryPolicy.maxDelayMs,
    factor: 2,
    randomize: true,
    maxRetryTime: Math.max(0, deadline - Date.now()),
    signal,
    shouldRetry: ({ error }) => shouldRetry(error) && Date.now() < deadline,
  });
}
