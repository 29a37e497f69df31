/**
 * The retry policy: which RPCs may be repeated, which failures are worth repeating, and the
 * backoff (p-retry). Writes are never retried here: a failed write may have been applied.
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

/** Whether the RPC at `path` may be repeated after a transient failure. */
export function isRepeatable(path: string): boolean {
  return repeatable.has(path);
}

/**
 * Whether a failed attempt of a repeatable call should be retried: an UNAVAILABLE-class
 * failure (transport broke, no leader, leader changed, timed out, stopped), or a stream the
 * server side reset (CANCELLED not caused by the caller, who is handled before this), that
 * the error itself marks retryable. Deadlines are final: they are the caller's budget.
 */
export function shouldRetry(error: unknown): boolean {
  return (
    error instanceof EtcdError &&
    error.retryable &&
    (error.code === GrpcCode.UNAVAILABLE || error.code === GrpcCode.CANCELLED)
  );
}

/** Bounds of the retry loop. */
export const retryPolicy = {
  /** Attempts after the first. */
  retries: 10,
  /** First backoff delay, doubling up to `maxDelayMs`, with random jitter. */
  minDelayMs: 25,
  maxDelayMs: 1000,
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
