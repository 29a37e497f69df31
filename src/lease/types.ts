/**
 * Public option and result types of the lease API.
 */
import type { ResponseHeader } from '../convert.js';
import type { Int64 } from '../kv/types.js';
import type { CallOptions } from '../options.js';

/** Options of `lease.grant`. */
export interface LeaseGrantOptions extends CallOptions {
  /** The ID to grant the lease under (0 or absent: the server picks one). */
  id?: Int64;
}

/** Result of `lease.grant`. */
export interface LeaseGrantResult {
  /** The lease ID. */
  id: bigint;
  /** The TTL in seconds the server granted (it raises TTLs below its minimum, 2 s by default). */
  ttl: bigint;
  header: ResponseHeader;
}

/** Result of `lease.revoke`. */
export interface LeaseRevokeResult {
  header: ResponseHeader;
}

/** Options of `lease.timeToLive`. */
export interface LeaseTimeToLiveOptions extends CallOptions {
  /** Also list the keys attached to the lease. */
  keys?: boolean;
}

/** Result of `lease.timeToLive`. */
export interface LeaseTimeToLiveResult {
  /** The lease ID asked about. */
  id: bigint;
  /** Remaining whole seconds (truncated, may be 0n); -1n when the lease does not exist. */
  ttl: bigint;
  /** The TTL the lease was granted (or last renewed) with, in seconds; 0n when it does not exist. */
  grantedTtl: bigint;
  /** Keys attached to the lease (only with `keys: true`; in no particular order). */
  keys: Uint8Array[];
  header: ResponseHeader;
}

/** Result of `lease.leases`. */
export interface LeaseLeasesResult {
  /** IDs of every lease, in no particular order. */
  leases: bigint[];
  header: ResponseHeader;
}

/** Result of `lease.keepAliveOnce`. */
export interface LeaseKeepAliveResult {
  /** The lease ID. */
  id: bigint;
  /** The TTL in seconds the lease was renewed with (always > 0; a lost lease rejects instead). */
  ttl: bigint;
  header: ResponseHeader;
}

/** Options of `lease.create`. */
export interface CreateLeaseOptions {
  /** The ID to grant the lease under (absent: the server picks one). */
  id?: Int64;
  /**
   * Aborts the grant (the call rejects with `CancelledError`); once the lease exists,
   * aborting it closes the lease (renewals stop, reason `closed`).
   */
  signal?: AbortSignal;
  /** Deadline of the grant in milliseconds (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}

/** Options of `lease.adopt`. */
export interface AdoptLeaseOptions {
  /**
   * Aborts the wait for the first keepalive answer (the call rejects with
   * `CancelledError`); once adopted, aborting it closes the lease (reason `closed`).
   */
  signal?: AbortSignal;
  /** How long to wait for the first keepalive answer (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}
