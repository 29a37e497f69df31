import type { EtcdErrorName } from '../../protocol/error-table.js';
import type { MemberView } from '../cluster/leadership.js';
import { etcdError } from '../errors.js';

/** A require-leader stream the gate may cancel. */
export interface GuardedStream {
  /** Ends the call with `etcdserver: no leader`. */
  cancelNoLeader(): void;
}

/** One call waiting for a leader. */
interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface LeaderGateOptions {
  /** How long a call needing a leader waits for one before failing (etcd: ~7 s). */
  readonly requestTimeoutMs: number;
  /** How long require-leader streams survive without a leader (etcd: 3 election timeouts). */
  readonly requireLeaderCancelMs: number;
}

/**
 * One member's leader-dependent behaviour, following its {@link MemberView}:
 * - led: every call goes through;
 * - leaderless: calls that need a leader wait for one (failing after the request timeout),
 *   require-leader streams are cancelled once the member has been leaderless for a while;
 * - idle (stopped): waiting calls fail with `server stopped`.
 * Timers are real time (these are network and process faults, not the server's clock).
 */
export class LeaderGate {
  private view: MemberView = 'idle';
  private readonly waiters = new Set<Waiter>();
  private readonly streams = new Set<GuardedStream>();
  private cancelTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LeaderGateOptions) {}

  /** Whether the member knows a leader. */
  get hasLeader(): boolean {
    return this.view === 'led';
  }

  /** Timers held now (waiting calls and the stream cancel timer), for leak checks. */
  get pendingTimers(): number {
    return this.waiters.size + (this.cancelTimer === undefined ? 0 : 1);
  }

  /** Follows the member's view of its leader. */
  update(view: MemberView): void {
    if (view === this.view) return;
    this.view = view;
    this.clearCancelTimer();
    if (view === 'led') {
      this.settleAll((w) => w.resolve());
    } else if (view === 'idle') {
      this.settleAll((w) => w.reject(etcdError('stopped')));
      this.streams.clear();
    } else {
      const t = setTimeout(() => {
        this.cancelTimer = undefined;
        const list = [...this.streams];
        this.streams.clear();
        for (const s of list) s.cancelNoLeader();
      }, this.options.requireLeaderCancelMs);
      this.cancelTimer = t;
    }
  }

  /**
   * Resolves once the member has a leader; rejects with `onTimeout` after the request
   * timeout, or with `server stopped` if the member stops first. `onAbandon` is given a
   * function the caller runs when the client goes away (it drops the wait).
   */
  waitForLeader(onTimeout: EtcdErrorName, onAbandon: (drop: () => void) => void): Promise<void> {
    if (this.view === 'led') return Promise.resolve();
    if (this.view === 'idle') return Promise.reject(etcdError('stopped'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(etcdError(onTimeout));
        }, this.options.requestTimeoutMs),
      };
      this.waiters.add(waiter);
      onAbandon(() => {
        if (!this.waiters.delete(waiter)) return;
        clearTimeout(waiter.timer);
      });
    });
  }

  /** Tracks a require-leader stream until `release` is called (when the call ends). */
  track(stream: GuardedStream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  /** Fails every waiting call and drops every timer. */
  close(): void {
    this.update('idle');
  }

  private settleAll(settle: (w: Waiter) => void): void {
    const list = [...this.waiters];
    this.waiters.clear();
    for (const w of list) {
      clearTimeout(w.timer);
      settle(w);
    }
  }

  private clearCancelTimer(): void {
    if (this.cancelTimer === undefined) return;
    clearTimeout(this.cancelTimer);
    this.cancelTimer = undefined;
  }
}
