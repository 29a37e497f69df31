import type { Clock, ClockTimer } from '../clock.js';
import { MAX_TIMER_DELAY_MS } from '../clock.js';

/** What the timer drives: a queue of due times and a pass that handles what is due. */
export interface ExpiryWork {
  /** Clock time of the earliest pending check, or undefined when nothing is pending. */
  nextDue(): number | undefined;
  /** Handles what is due now; returns true when due work was left for a later pass. */
  runPass(): boolean;
}

type TimerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'armed'; readonly at: number; readonly handle: ClockTimer }
  | { readonly kind: 'closed' };

/**
 * One clock timer set for the earliest pending expiry (instead of polling): it fires, runs a
 * pass, and re-arms for the next due time; when a pass leaves work behind (the per-pass rate
 * limit), the next pass runs `backlogDelayMs` later, as etcd's 500 ms scan would.
 */
export class ExpiryTimer {
  private state: TimerState = { kind: 'idle' };

  constructor(
    private readonly clock: Clock,
    private readonly work: ExpiryWork,
    private readonly backlogDelayMs: number,
  ) {}

  /** Whether a timer is set. */
  get armed(): boolean {
    return this.state.kind === 'armed';
  }

  /** Makes sure a timer is set no later than the earliest due time (call after queueing earlier work). */
  reschedule(): void {
    if (this.state.kind === 'closed') return;
    const due = this.work.nextDue();
    if (due === undefined) {
      this.stop();
      return;
    }
    if (this.state.kind === 'armed' && this.state.at <= due) return;
    this.arm(due);
  }

  /** Cancels the pending timer; {@link reschedule} sets a new one. */
  stop(): void {
    if (this.state.kind !== 'armed') return;
    this.clock.clearTimer(this.state.handle);
    this.state = { kind: 'idle' };
  }

  /** Cancels the pending timer for good. */
  close(): void {
    this.stop();
    this.state = { kind: 'closed' };
  }

  private arm(at: number): void {
    this.stop();
    const delay = Math.min(Math.max(0, at - this.clock.now()), MAX_TIMER_DELAY_MS);
    const handle = this.clock.setTimer(() => this.fire(handle), delay);
    this.state = { kind: 'armed', at, handle };
  }

  private fire(handle: ClockTimer): void {
    if (this.state.kind !== 'armed' || this.state.handle !== handle) return;
    this.state = { kind: 'idle' };
    let backlog = false;
    try {
      backlog = this.work.runPass();
    } catch {
      // a failing pass must not escape into the event loop; try again after the backlog delay
      backlog = true;
    }
    // a pass may have closed the timer (a revoke's listener closing the server)
    if ((this.state as TimerState).kind !== 'idle') return;
    if (backlog) this.arm(this.clock.now() + this.backlogDelayMs);
    else this.reschedule();
  }
}
