/**
 * The server's notion of time. Everything time-driven in the server (lease expiry, ...) reads
 * the time and sets timers through a {@link Clock}, so tests can drive it with a
 * {@link ManualClock} instead of sleeping.
 */

/** An opaque timer handle returned by {@link Clock.setTimer}. */
export type ClockTimer = unknown;

/** A source of time and timers. */
export interface Clock {
  /** The current time in milliseconds (any fixed origin; must never go backwards). */
  now(): number;
  /** Calls `callback` once, `delayMs` (>= 0) milliseconds from now. */
  setTimer(callback: () => void, delayMs: number): ClockTimer;
  /** Cancels a timer of this clock; a no-op when it already fired or was cleared. */
  clearTimer(timer: ClockTimer): void;
}

/** The longest delay a Node.js timer accepts; longer waits are split by the callers. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Real time: a monotonic millisecond clock with Node.js timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, delayMs) {
    return setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
  },
  clearTimer(timer) {
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  readonly due: number;
  /** Creation order: ties on `due` fire in the order they were set. */
  readonly seq: number;
  readonly callback: () => void;
}

/** How many timers one {@link ManualClock.advance} may fire before it assumes a runaway loop. */
const MAX_FIRINGS_PER_ADVANCE = 1_000_000;

/**
 * A clock that moves only when told to: {@link advance} fires every timer that falls due,
 * synchronously and in due order (the clock reads each timer's due time while it runs).
 * For tests: `startServer({ clock })` then `clock.advance(2000)` expires a 2 s lease.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Set<ManualTimer>();

  /** @param startMs the initial reading of {@link now} (default 0). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new TypeError(`ManualClock: expected a finite start time, got ${startMs}`);
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): ClockTimer {
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const timer: ManualTimer = { due: this.current + delay, seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(timer: ClockTimer): void {
    this.timers.delete(timer as ManualTimer);
  }

  /** Number of timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms` (>= 0), firing due timers on the way, including timers they
   * set that fall due within the window. A throwing callback does not stop the others; the
   * first error is rethrown at the end.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance: expected ms >= 0, got ${ms}`);
    const target = this.current + ms;
    let firings = 0;
    let firstError: { error: unknown } | undefined;
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      if (++firings > MAX_FIRINGS_PER_ADVANCE) {
        throw new Error(`ManualClock.advance: more than ${MAX_FIRINGS_PER_ADVANCE} timers fired; a timer re-arms itself forever`);
      }
      this.timers.delete(next);
      this.current = Math.max(this.current, next.due);
      try {
        next.callback();
      } catch (error) {
        firstError ??= { error };
      }
    }
    this.current = target;
    if (firstError !== undefined) throw firstError.error;
  }

  /** The earliest timer due at or before `limit`. */
  private nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
