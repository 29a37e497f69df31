/**
 * The error a kept-alive lease reports once, when it is lost.
 */
import { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';

/**
 * Why a kept-alive lease was lost:
 * - `expired`: the server answered a keepalive with TTL 0 (the lease no longer exists);
 * - `revoked`: it was revoked through this client;
 * - `deadline`: no renewal succeeded and the TTL of the last successful one ran out, so the
 *   server may have expired it (declared at the moment the server could, not later);
 * - `closed`: `lease.close()` (or the lease's abort signal) stopped renewing it;
 * - `client-closed`: the client was closed.
 */
export type LeaseLostReason = 'expired' | 'revoked' | 'deadline' | 'closed' | 'client-closed';

const describe: Record<LeaseLostReason, string> = {
  expired: 'the server reports that it no longer exists',
  revoked: 'it was revoked',
  deadline: 'no keepalive succeeded before its TTL ran out',
  closed: 'it was closed (renewals stopped)',
  'client-closed': 'the client was closed',
};

const codes: Record<LeaseLostReason, number> = {
  expired: GrpcCode.NOT_FOUND,
  revoked: GrpcCode.NOT_FOUND,
  deadline: GrpcCode.DEADLINE_EXCEEDED,
  closed: GrpcCode.CANCELLED,
  'client-closed': GrpcCode.CANCELLED,
};

/** A kept-alive lease is lost (or may be, for `deadline`); see {@link LeaseLostReason}. */
export class LeaseLostError extends EtcdError {
  /** Why the lease was lost. */
  readonly reason: LeaseLostReason;
  /** The lease's ID. */
  readonly leaseId: bigint;

  constructor(leaseId: bigint, reason: LeaseLostReason, cause?: unknown) {
    const text = `lease ${leaseId.toString(16)} lost: ${describe[reason]}`;
    super({ code: codes[reason], etcdMessage: text, retryable: false, cause });
    this.reason = reason;
    this.leaseId = leaseId;
  }
}
