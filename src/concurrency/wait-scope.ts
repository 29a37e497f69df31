/**
 * The lifetime of one wait (lock, campaign): a single AbortSignal that fires, with a typed
 * reason, when the caller's signal aborts (`CancelledError`), the wait's `timeoutMs` passes
 * (`DeadlineExceededError`), the session ends (`SessionExpiredError`), or the waiter is told
 * to stop for another reason ({@link WaitScope.fail}). `dispose()` removes every listener and
 * timer it added.
 */
import { CancelledError, DeadlineExceededError, EtcdError, internalError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Session } from './session.js';
import { SessionExpiredError } from './errors.js';

/** Options every wait accepts. */
export interface WaitOptions {
  /** Aborting stops the wait: it rejects with a `CancelledError` (whose `cause` is the signal's reason). */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds with a `DeadlineExceededError`. Default: wait as long as it takes. */
  timeoutMs?: number;
}

export class WaitScope {
  /** Names the wait in messages, e.g. `lock "jobs"`. */
  readonly what: string;
  readonly #controller = new AbortController();
  readonly #cleanups: Array<() => void> = [];

  /**
   * @param what Names the wait in messages, e.g. `lock "jobs"`.
   * @param timeoutMs Already validated.
   */
  constructor(what: string, session: Session, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.what = what;
    if (signal !== undefined) {
      this.#link(signal, () =>
        new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: `${what}: aborted`, retryable: false, cause: signal.reason }),
      );
    }
    this.#link(session.signal, () => new SessionExpiredError(what, session.signal.reason));
    if (timeoutMs !== undefined && !this.signal.aborted) {
      const timer = setTimeout(() => {
        this.fail(
          new DeadlineExceededError({
            code: GrpcCode.DEADLINE_EXCEEDED,
            etcdMessage: `${what}: not done within ${timeoutMs} ms`,
            retryable: true,
          }),
        );
      }, timeoutMs);
      this.#cleanups.push(() => clearTimeout(timer));
    }
  }

  /** Aborted once the wait must stop; its `reason` is the typed error to reject with. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops the wait with `reason` (first reason wins). */
  fail(reason: EtcdError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** Throws the stop reason if the wait must stop. */
  check(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /**
   * The error to report for a failure: the stop reason when the wait was stopped (a call
   * aborted by it rejects with a plain CancelledError), else the failure itself as an EtcdError.
   */
  explain(error: unknown): EtcdError {
    if (this.signal.aborted) return this.signal.reason as EtcdError;
    return internalError(error, { idempotent: true });
  }

  /** Removes every listener and timer. Idempotent. */
  dispose(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  #link(source: AbortSignal, reason: () => EtcdError): void {
    if (source.aborted) {
      this.fail(reason());
      return;
    }
    const onAbort = () => this.fail(reason());
    source.addEventListener('abort', onAbort, { once: true });
    this.#cleanups.push(() => source.removeEventListener('abort', onAbort));
  }
}
