/**
 * One granted lease: its id, its effective TTL, when it expires, and the keys attached to it.
 */

/** Expiry of a lease the lessor does not manage right now (the server is stopped). */
export const NEVER = Number.POSITIVE_INFINITY;

/** etcd's remaining time of a lease that never expires: max int64 nanoseconds, in seconds. */
const FOREVER_SECONDS = 9223372036n;

export class Lease {
  /** Clock time (ms) at which the lease expires; {@link NEVER} while the server is stopped. */
  expiry = NEVER;
  /** Attached keys, as store keys (latin1 strings; their order is bytewise). */
  readonly keys = new Set<string>();

  constructor(
    readonly id: bigint,
    /** The effective TTL in seconds (the requested one, raised to the minimum). */
    readonly ttl: bigint,
  ) {}

  /** Sets the expiry to `ttl` seconds (plus `extendMs`) after `now`. */
  refresh(now: number, extendMs = 0): void {
    this.expiry = now + extendMs + Number(this.ttl) * 1000;
  }

  /** Milliseconds left at `now`; zero or less once expired. */
  remainingMs(now: number): number {
    return this.expiry - now;
  }

  isExpired(now: number): boolean {
    return this.remainingMs(now) <= 0;
  }

  /** Remaining whole seconds, truncated toward zero (etcd's TimeToLive TTL). */
  remainingSeconds(now: number): bigint {
    if (this.expiry === NEVER) return FOREVER_SECONDS;
    return BigInt(Math.trunc(this.remainingMs(now) / 1000));
  }

  /** The attached keys in ascending byte order. */
  sortedKeys(): string[] {
    return [...this.keys].sort();
  }
}
