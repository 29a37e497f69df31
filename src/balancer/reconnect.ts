/**
 * How long-lived streams (watch, lease keepalive) wait before re-opening after a failure:
 * a jittered delay (p-retry's randomize multiplies it by 1..2) that starts at `minDelayMs`
 * and doubles per failed attempt up to `maxDelayMs`. One policy for every stream owner, so a
 * member that fails takes its watches and keepalives elsewhere at the same pace.
 */
export const reconnectPolicy = {
  /** First delay, before jitter. */
  minDelayMs: 50,
  /** Largest delay, before jitter. */
  maxDelayMs: 2000,
} as const;
