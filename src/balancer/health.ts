/**
 * What the balancer knows about one endpoint besides its connectivity: whether it is trusted
 * with new calls, the calls and streams running on it, and when it last answered anything.
 * Plain state, no timers and no I/O: the HealthMonitor drives the transitions.
 *
 * States:
 * - `healthy`: calls are routed to it (when its connection is ready);
 * - `suspect`: set aside: new calls go elsewhere while another endpoint is usable; a probe
 *   is due at `nextProbeAt`;
 * - `probing`: set aside, and a probe is in flight.
 *
 * healthy -> suspect (a call stalled, a leaderless/unavailable answer, connection lost);
 * suspect -> probing (probe sent); probing -> healthy (probe answered) or suspect (probe
 * failed; the next probe backs off).
 */
import type { EtcdError } from '../errors.js';

export type HealthState = 'healthy' | 'suspect' | 'probing';

/** Why an endpoint was set aside. */
export type SuspectReason =
  /** A call got no answer within the unresponsive threshold (hung, frozen, or very slow). */
  | 'unresponsive'
  /** It answered that it has no leader: it refuses leader-bound calls at once. */
  | 'no-leader'
  /**
   * It answers, but leader-bound calls on it wait instead of being refused: it answers from
   * an older raft term than the cluster's (cut off, or a resumed old leader), or its requests
   * timed out waiting for a leader.
   */
  | 'stale'
  /** Its connection failed or broke, or it is shutting down. */
  | 'unavailable';

/** A unary attempt in flight on the endpoint. */
export interface TrackedAttempt {
  /** When it was dispatched (ms timestamp). */
  readonly startedAt: number;
  /** True for calls that are safe to repeat (reads ...). */
  readonly repeatable: boolean;
  /**
   * Ends the attempt now with `error` (cancelling the RPC). Returns false when the attempt
   * declines (already ended, or it was abandoned once before and must now run its course;
   * `force` overrides the latter, for a read known to wait on a leader that is gone).
   */
  abandon(error: EtcdError, force?: boolean): boolean;
}

/** A bidi stream open on the endpoint. */
export interface TrackedStream {
  /**
   * True for streams whose requests a follower forwards to the leader (LeaseKeepAlive): after
   * a leader change, requests held for the old leader are never answered on this stream.
   */
  readonly leaderBound: boolean;
  /** When its last message arrived (or it was opened), ms timestamp. */
  readonly lastMessageAt: number;
  /** Ends the stream with `error` (a retryable error: its owner re-opens elsewhere). */
  abandon(error: EtcdError): void;
}

/** Probe backoff bounds: the first re-probe after a failure, doubling up to the cap. */
export const probeBackoff = { firstMs: 200, maxMs: 2000 } as const;

/** The balancer's view of one endpoint. */
export class EndpointHealth {
  state: HealthState = 'healthy';
  /** Why it is set aside (while not healthy). */
  reason: SuspectReason | undefined;
  /** Human-readable detail for error messages (`no answer within 1000 ms`, `no leader`). */
  detail = '';
  /** When the next probe is due (while `suspect`). */
  nextProbeAt = 0;
  /** Consecutive failed probes (drives the backoff). */
  failedProbes = 0;
  /** Last time anything arrived from the endpoint (an answer, an etcd error, a stream message). */
  lastHeard = 0;
  /** The store revision its last probe answer showed while it was set aside (catching up). */
  probedRevision: bigint | undefined;
  /** Unary attempts in flight, oldest first (a Set keeps insertion order). */
  readonly attempts = new Set<TrackedAttempt>();
  /** Open bidi streams. */
  readonly streams = new Set<TrackedStream>();

  /** True when new calls should go elsewhere if they can. */
  get setAside(): boolean {
    return this.state !== 'healthy';
  }

  /** The oldest attempt in flight, if any. */
  oldestAttempt(): TrackedAttempt | undefined {
    for (const attempt of this.attempts) return attempt;
    return undefined;
  }

  /**
   * Sets the endpoint aside. A probe is due at once unless one is in flight or already
   * scheduled (a repeated failure does not postpone the probe, nor bring it forward).
   */
  suspect(reason: SuspectReason, detail: string, now: number): void {
    this.reason = reason;
    this.detail = detail;
    if (this.state === 'healthy') {
      this.state = 'suspect';
      this.failedProbes = 0;
      this.probedRevision = undefined;
      this.nextProbeAt = now;
    }
  }

  /** A probe was sent. */
  probing(): void {
    this.state = 'probing';
  }

  /** The probe failed: back to `suspect`, next probe after a jittered, doubling delay. */
  probeFailed(reason: SuspectReason, detail: string, now: number, random: () => number = Math.random): void {
    this.reason = reason;
    this.detail = detail;
    this.state = 'suspect';
    const base = Math.min(probeBackoff.maxMs, probeBackoff.firstMs * 2 ** this.failedProbes);
    this.failedProbes += 1;
    this.nextProbeAt = now + Math.round(base * (0.75 + 0.5 * random()));
  }

  /** The endpoint answered a probe: it takes calls again. */
  recovered(now: number): void {
    this.state = 'healthy';
    this.reason = undefined;
    this.detail = '';
    this.failedProbes = 0;
    this.lastHeard = now;
    this.probedRevision = undefined;
  }

  /** The connection came back: probe it now (if it is set aside and no probe is in flight). */
  reconnected(now: number): void {
    if (this.state === 'suspect') this.nextProbeAt = now;
  }
}
