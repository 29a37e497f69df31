/**
 * The watch's retry policy: which failures are worth another attempt, and the jittered
 * exponential backoff between attempts (p-retry, bounds shared with every stream in
 * ../balancer/reconnect.ts), without a retry limit.
 */
import pRetry from 'p-retry';
import { ClientClosedError, EtcdError } from '../errors.js';
import { reconnectPolicy } from '../balancer/reconnect.js';
import { GrpcCode } from '../protocol/error-table.js';

/** Stream codes after which reconnecting can help (the transport broke, the member is unhealthy). */
const transientCodes: ReadonlySet<number> = new Set([
  GrpcCode.UNAVAILABLE,
  GrpcCode.CANCELLED,
  GrpcCode.UNKNOWN,
  GrpcCode.INTERNAL,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.ABORTED,
]);

/** Whether a failed stream or read is worth repeating (everything but final errors and a closed client). */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof EtcdError) || error instanceof ClientClosedError) return false;
  return error.retryable || transientCodes.has(error.code);
}

/** Options of {@link retryForever}. */
export interface RetryForeverOptions {
  /** Stops the loop; the promise then rejects with the signal's reason. */
  signal: AbortSignal;
  /** Called after each failed attempt, before the delay. */
  onFailedAttempt?: (error: unknown) => void;
}

/**
 * Runs `attempt` until it succeeds, waiting a jittered, doubling delay (50 ms .. 2 s) after
 * each transient failure. Rejects with the first non-transient failure, or when aborted.
 */
export function retryForever<T>(attempt: () => Promise<T>, options: RetryForeverOptions): Promise<T> {
  const onFailedAttempt = options.onFailedAttempt;
  return pRetry(attempt, {
    retries: Number.POSITIVE_INFINITY,
    minTimeout: reconnectPolicy.minDelayMs,
    maxTimeout: reconnectPolicy.maxDelayMs,
    factor: 2,
    randomize: true,
    signal: options.signal,
    onFailedAttempt: onFailedAttempt === undefined ? undefined : ({ error }) => onFailedAttempt(error),
    shouldRetry: ({ error }) => isTransient(error),
  });
}
