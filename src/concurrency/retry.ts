/**
 * Retries of the recipes' own writes. The client never retries a write, since it cannot know
 * whether repeating it is harmless; these writes are built so that it is: the enqueue txn
 * ("put my key if absent, else read it") and the fenced txns (compare my key's create
 * revision, then put or delete it) give the same outcome however often they run.
 */
import {
  DeadlineExceededError,
  LeaderChangedError,
  NoLeaderError,
  RequestTimedOutError,
  ServerStoppedError,
  TooManyRequestsError,
  UnavailableError,
} from '../errors.js';

/** At most this many attempts in all. */
const maxAttempts = 8;
const firstDelayMs = 50;
const maxDelayMs = 1000;

/** Failures after which the same idempotent request may well succeed. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof NoLeaderError ||
    error instanceof LeaderChangedError ||
    error instanceof ServerStoppedError ||
    error instanceof RequestTimedOutError ||
    error instanceof TooManyRequestsError
  );
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error, `maxAttempts` ran, or
 * `signal` aborts (then rejects with the signal's reason). Backs off with jitter between
 * attempts; the backoff timer is cleared on abort.
 */
export async function retryIdempotent<T>(attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  let delay = firstDelayMs;
  for (let n = 1; ; n++) {
    if (signal.aborted) throw signal.reason;
    try {
      return await attempt(signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (n >= maxAttempts || !isTransient(error)) throw error;
    }
    await pause(delay / 2 + Math.random() * delay, signal);
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/** Sleeps `ms`, or until `signal` aborts (then rejects with its reason). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as unknown);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as unknown);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
