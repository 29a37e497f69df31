/**
 * The health monitor: decides when an endpoint is set aside and when it is trusted again.
 * Its evidence is the probe (probe.ts): a small linearizable read with require-leader
 * metadata and a deadline of half the unresponsive threshold (`unresponsiveMs`).
 *
 * - Stall: when the oldest unary call on an endpoint has waited half the threshold and
 *   nothing else was heard from the endpoint meanwhile, it is probed. If the probe answers,
 *   the endpoint is alive and the call just slow: nothing happens. If not, by the time the call
 *   has waited the whole threshold the endpoint is confirmed unresponsive (hung, frozen, or
 *   far too slow): it is set aside (no new calls), and - when another endpoint can
 *   take over (for calls, one that answers even if it has no leader yet; for streams, a
 *   healthy one) - reads waiting on it are abandoned and retried elsewhere (once per call),
 *   writes waiting on it fail with `mayHaveBeenApplied`, and its streams end with a
 *   retryable error so watches and keepalives re-open on another endpoint.
 * - Silence: an endpoint carrying streams that has been silent for `silenceProbeMs` is
 *   probed the same way (a quiet watch on a frozen member would otherwise only be noticed by
 *   HTTP/2 keepalive).
 * - A call or stream refused for lack of a leader, and a failed or lost connection, set the
 *   endpoint aside too.
 * - Set-aside endpoints are probed with jittered backoff (200 ms doubling to 2 s) while
 *   connected, and at once when their connection comes back; an answer with a leader brings
 *   them back.
 * - Catching up: a set-aside member that answers its probe with a store revision below the
 *   highest one the client had seen when the probe was sent is still applying what it missed
 *   (a member resumed after a pause, or reconnected after a partition); calls sent to it
 *   would wait for that. It stays aside, and is probed again, for as long as its revision
 *   keeps rising between probes. (A member whose revision does not move is not catching up -
 *   it holds other data, such as a server started afresh - and is taken back.)
 * - Leader change: when an answer shows a higher raft term than seen before, calls that were
 *   already in flight are given up the same way: reads a fifth of the threshold after the
 *   change (retried), writes once they have waited the whole threshold (failed with
 *   `mayHaveBeenApplied`). A proposal forwarded to a leader that
 *   died or froze is dropped, and etcd would only answer `request timed out` after its
 *   request timeout (~7 s). Lease keepalive streams that heard nothing since the change are
 *   ended at once: a follower handles a stream's keepalives one at a time, forwarding each to
 *   the leader, so one held for a frozen old leader blocks that stream for the request
 *   timeout - longer than short TTLs. Their owner re-opens them and re-sends at once.
 *
 * One timer for the whole client, armed only while something needs watching, and unref'd.
 */
import { classifyStatus, NoLeaderError, RequestTimedOutError, ServerStoppedError, UnavailableError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import * as grpc from '@grpc/grpc-js';
import { GrpcCode } from '../protocol/error-table.js';
import type { EndpointChannel } from './channel.js';
import type { EndpointHealth, SuspectReason } from './health.js';
import type { EndpointPool } from './pool.js';
import type { ProbeOutcome, Prober } from './probe.js';

const { connectivityState } = grpc;

/** Settings of {@link HealthMonitor}. */
export interface MonitorOptions {
  /** A call unanswered this long (with a probe unanswered too) marks its endpoint unresponsive. */
  readonly unresponsiveMs: number;
  /** An endpoint with streams that has been silent this long is probed. */
  readonly silenceProbeMs: number;
  /** Sends one probe. */
  readonly probe: Prober;
}

/** How much later than planned a tick may run before it is treated as this process stalling. */
const lagToleranceFraction = 0.5;

/** Watches every endpoint of a pool; see the module doc. */
export class HealthMonitor {
  readonly #pool: EndpointPool;
  readonly #unresponsiveMs: number;
  /** Half the threshold: when a stalled call triggers a probe, and the probe's deadline. */
  readonly #probeMs: number;
  /** How long after a leader change reads sent before it may still be answered. */
  readonly #leaderChangeGraceMs: number;
  readonly #silenceProbeMs: number;
  readonly #probe: Prober;
  readonly #now = Date.now;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer is due. */
  #dueAt = Infinity;
  /** Channels with a probe in flight (including silence probes of healthy endpoints). */
  readonly #probing = new Set<EndpointChannel>();
  readonly #unsubscribe: () => void;
  #closed = false;
  /** The highest raft term seen in an answer (0: none yet). */
  #term = 0n;
  /** When the term last went up (while calls from before it may still be waiting). */
  #termRaisedAt: number | undefined;
  /** The highest store revision seen in an answer (0: none yet). */
  #revision = 0n;

  constructor(pool: EndpointPool, options: MonitorOptions) {
    this.#pool = pool;
    this.#unresponsiveMs = options.unresponsiveMs;
    this.#probeMs = Math.max(1, Math.floor(options.unresponsiveMs / 2));
    this.#leaderChangeGraceMs = Math.max(1, Math.floor(options.unresponsiveMs / 5));
    this.#silenceProbeMs = options.silenceProbeMs;
    this.#probe = options.probe;
    this.#unsubscribe = pool.onChannelChange((channel, previous) => this.#onConnectivity(channel, previous));
  }

  /** A unary attempt was dispatched at `startedAt`: make sure it is watched. */
  attemptStarted(startedAt: number): void {
    this.#armBy(startedAt + this.#probeMs);
  }

  /**
   * What every etcd answer (a unary response, a stream message) tells about the cluster: its
   * raft term (a higher one means the leader changed) and the store revision the answering
   * member has applied. The one place the client reads response headers for its balancer.
   */
  observeHeader(header: { readonly raft_term?: bigint; readonly revision?: bigint } | undefined): void {
    if (header === undefined) return;
    const term = header.raft_term;
    if (term !== undefined && term > this.#term) this.#observeTerm(term);
    const revision = header.revision;
    if (revision !== undefined && revision > this.#revision) this.#revision = revision;
  }

  /** An answer carried raft term `term`: a higher one means the leader changed. */
  #observeTerm(term: bigint): void {
    if (term <= this.#term) return;
    const first = this.#term === 0n;
    this.#term = term;
    if (first || this.#closed) return;
    const now = this.#now();
    this.#termRaisedAt = now;
    this.#restartLeaderBoundStreams(now);
    this.#armBy(now);
  }

  /** Ends keepalive streams that heard nothing since the leader changed at `raisedAt`. */
  #restartLeaderBoundStreams(raisedAt: number): void {
    for (const channel of this.#pool.channels) {
      for (const stream of [...channel.health.streams]) {
        if (!stream.leaderBound || stream.lastMessageAt >= raisedAt) continue;
        const detail = 'the leader changed: renewals held for the old leader are sent again on a new stream';
        stream.abandon(this.#stallError(channel, detail, true));
      }
    }
  }

  /** A stream was opened on `channel`: watch it for silence. */
  streamOpened(channel: EndpointChannel): void {
    const health = channel.health;
    if (health.lastHeard < this.#now() - this.#silenceProbeMs) health.lastHeard = this.#now();
    this.#armBy(health.lastHeard + this.#silenceProbeMs);
  }

  /**
   * A call or stream on `channel` failed with `error`: a leaderless, stopping or unreachable
   * member is set aside; an answer from etcd proves the endpoint is alive.
   */
  failed(channel: EndpointChannel, error: EtcdError): void {
    const now = this.#now();
    if (error.etcdErrorName !== undefined) channel.health.lastHeard = now;
    if (error instanceof NoLeaderError) {
      this.#setAside(channel, 'no-leader', error.etcdMessage, now);
    } else if (error instanceof RequestTimedOutError) {
      this.#setAside(channel, 'stale', error.etcdMessage, now);
    } else if (error instanceof ServerStoppedError) {
      this.#setAside(channel, 'unavailable', error.etcdMessage, now);
    } else if (error instanceof UnavailableError && error.etcdErrorName === undefined) {
      this.#setAside(channel, 'unavailable', error.etcdMessage, now);
    }
  }

  /** Stops watching. Probes in flight end with the channels. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity;
  }

  // ---------------------------------------------------------------------------------------

  #setAside(channel: EndpointChannel, reason: SuspectReason, detail: string, now: number): void {
    if (channel.retired) return;
    const health = channel.health;
    health.suspect(reason, detail, now);
    if (health.state === 'suspect') this.#armBy(health.nextProbeAt);
  }

  #onConnectivity(channel: EndpointChannel, previous: grpc.connectivityState): void {
    if (this.#closed) return;
    const now = this.#now();
    const state = channel.state;
    if (state === connectivityState.READY) {
      channel.health.reconnected(now);
      if (channel.health.state === 'suspect') this.#armBy(now);
      return;
    }
    if (state === connectivityState.TRANSIENT_FAILURE) {
      this.#setAside(channel, 'unavailable', channel.lastError ?? 'connection failed', now);
    } else if (previous === connectivityState.READY) {
      // The connection broke (or went idle): get a new one, and probe it before trusting it.
      this.#setAside(channel, 'unavailable', 'connection lost', now);
      if (state === connectivityState.IDLE) channel.connect();
    }
  }

  #armBy(at: number): void {
    if (this.#closed || at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(this.#tick, Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const planned = this.#dueAt;
    this.#dueAt = Infinity;
    if (this.#closed) return;
    const now = this.#now();
    // A timer running far behind schedule means this process was stalled (CPU, GC): calls
    // look slow for reasons that have nothing to do with their endpoints. Look again shortly.
    if (now - planned > this.#unresponsiveMs * lagToleranceFraction) {
      this.#armBy(now + Math.ceil(this.#unresponsiveMs / 4));
      return;
    }
    let next = Infinity;
    for (const channel of this.#pool.channels) {
      const due = this.#check(channel, now);
      if (due < next) next = due;
    }
    if (this.#termRaisedAt !== undefined) {
      const due = this.#sweepAfterLeaderChange(this.#termRaisedAt, now);
      if (due === Infinity) this.#termRaisedAt = undefined;
      else if (due < next) next = due;
    }
    if (next !== Infinity) this.#armBy(Math.max(next, now + 1));
  };

  /**
   * Gives up calls that were in flight before the leader changed at `raisedAt`: reads a
   * short grace after the change (even one already moved once: a linearizable read waiting
   * on the old leader's read index may never be answered, and repeating a read is harmless),
   * writes once they have waited the whole threshold (failing a write costs its caller more).
   * Returns when the next such call is due.
   */
  #sweepAfterLeaderChange(raisedAt: number, now: number): number {
    let due = Infinity;
    const readGiveUpAt = raisedAt + this.#leaderChangeGraceMs;
    for (const channel of this.#pool.channels) {
      for (const attempt of [...channel.health.attempts]) {
        if (attempt.startedAt >= raisedAt) continue;
        const giveUpAt = attempt.repeatable ? readGiveUpAt : attempt.startedAt + this.#unresponsiveMs;
        if (now < giveUpAt) {
          if (giveUpAt < due) due = giveUpAt;
          continue;
        }
        const waited = now - attempt.startedAt;
        const detail = `the leader changed while the request was in flight, and no answer came within ${waited} ms`;
        attempt.abandon(this.#stallError(channel, detail, attempt.repeatable), attempt.repeatable);
      }
    }
    return due;
  }

  /** Acts on one endpoint; returns when it next needs looking at (Infinity: not before an event). */
  #check(channel: EndpointChannel, now: number): number {
    const health = channel.health;
    if (!channel.ready || this.#probing.has(channel)) {
      // A probe in flight ends by its deadline; a disconnected endpoint waits for its connection.
      return Infinity;
    }
    if (health.state === 'suspect') {
      if (now >= health.nextProbeAt) {
        this.#sendProbe(channel);
        return Infinity;
      }
      return health.nextProbeAt;
    }
    if (health.state !== 'healthy') return Infinity;
    let due = Infinity;
    const oldest = health.oldestAttempt();
    if (oldest !== undefined) {
      // The oldest call has waited half the threshold, and the endpoint said nothing since.
      const probeAt = Math.max(oldest.startedAt, health.lastHeard) + this.#probeMs;
      if (now >= probeAt) {
        this.#sendProbe(channel);
        return Infinity;
      }
      due = probeAt;
    }
    if (health.streams.size > 0) {
      const silentAt = health.lastHeard + this.#silenceProbeMs;
      if (now >= silentAt) {
        this.#sendProbe(channel);
        return Infinity;
      }
      if (silentAt < due) due = silentAt;
    }
    return due;
  }

  #sendProbe(channel: EndpointChannel): void {
    const health = channel.health;
    const wasHealthy = health.state === 'healthy';
    if (!wasHealthy) health.probing();
    this.#probing.add(channel);
    // What a member that is up to date has applied by the time it answers.
    const expected = this.#revision;
    this.#probe(channel, this.#probeMs)
      .then((outcome) => this.#onProbe(channel, outcome, expected))
      .catch(() => {
        // A probe never rejects and acting on its outcome only cancels calls; nothing may escape.
        this.#probing.delete(channel);
      });
  }

  #onProbe(channel: EndpointChannel, outcome: ProbeOutcome, expected: bigint): void {
    this.#probing.delete(channel);
    if (this.#closed || channel.closed || channel.retired) return;
    const health = channel.health;
    const now = this.#now();
    if (outcome.kind === 'ok' && outcome.term !== undefined && outcome.term < this.#term) {
      // It answers, but from an older raft term than the cluster has moved on to: a member
      // that was cut off or frozen (often the old leader) and has not yet learned of the new
      // leader. Its linearizable reads and writes would wait for the request timeout, so it
      // is treated like a member that does not answer until it catches up.
      const detail = `behind the cluster (raft term ${outcome.term} < ${this.#term})`;
      if (health.state === 'healthy') health.suspect('stale', detail, now);
      health.probeFailed('stale', detail, now);
      this.#onConfirmedUnresponsive(channel, detail);
    } else if (outcome.kind === 'ok' && health.state !== 'healthy' && this.#catchingUp(health, outcome.revision, expected)) {
      const detail = `catching up (revision ${outcome.revision} < ${expected})`;
      health.probedRevision = outcome.revision;
      health.probeFailed('stale', detail, now);
    } else if (outcome.kind === 'ok') {
      health.recovered(now);
      this.observeHeader({ raft_term: outcome.term, revision: outcome.revision });
    } else {
      const reason: SuspectReason = outcome.kind === 'timeout' ? 'unresponsive' : outcome.kind;
      if (health.state === 'healthy') health.suspect(reason, outcome.detail, now);
      health.probeFailed(reason, outcome.detail, now);
      if (outcome.kind === 'timeout') this.#onConfirmedUnresponsive(channel);
    }
    // Re-evaluate everything: the next probe, and stalls elsewhere that waited for an alternative.
    this.#armBy(now);
  }

  /**
   * Whether a set-aside member whose probe showed `revision` is still catching up: behind
   * what the client had seen when the probe was sent, and ahead of its previous probe's
   * answer (if it had one), so it is moving towards the cluster's state.
   */
  #catchingUp(health: EndpointHealth, revision: bigint | undefined, expected: bigint): boolean {
    if (revision === undefined || revision >= expected) return false;
    const previous = health.probedRevision;
    return previous === undefined || revision > previous;
  }

  /**
   * The endpoint answered neither a call nor a probe: reads waiting on it are retried
   * elsewhere, writes waiting on it fail (they may have been applied) and its streams end, so
   * their owners move to another endpoint. Only when another endpoint can take over;
   * otherwise they keep waiting for this one.
   *
   * For calls, a member that answers but has no leader yet counts as able to take over: when
   * the leader freezes, the other members elect a new one within a few seconds, and a read
   * retried on them is refused at once until then and served as soon as they have one (the
   * retry loop polls them), whereas the frozen member would hold it until its deadline.
   * Streams move only to a healthy member: a watch has nothing to gain from a leaderless one.
   */
  #onConfirmedUnresponsive(channel: EndpointChannel, detail = `no answer within ${this.#unresponsiveMs} ms`): void {
    if (!this.#pool.hasAnsweringAlternative(channel)) return;
    const health = channel.health;
    for (const attempt of [...health.attempts]) attempt.abandon(this.#stallError(channel, detail, attempt.repeatable));
    if (health.streams.size > 0 && this.#pool.hasHealthyAlternative(channel)) {
      const error = this.#stallError(channel, `the endpoint stopped answering (${detail})`, true);
      for (const stream of [...health.streams]) stream.abandon(error);
    }
  }

  #stallError(channel: EndpointChannel, detail: string, repeatable: boolean): EtcdError {
    const facts = { idempotent: repeatable, endpoint: channel.endpoint.address };
    return classifyStatus({ code: GrpcCode.UNAVAILABLE, details: detail }, facts);
  }
}
