import type { ServerContext } from '../context.js';
import { describe } from '../options.js';
import type { ClusterRuntime, RuntimeMember } from './runtime.js';

/**
 * One member of a {@link EtcdCluster}, with fault injection for tests. Faults are
 * independent of each other and idempotent:
 * - {@link stop}/{@link start}: a process dying and restarting on the same port (the data,
 *   shared by the cluster, lives on). `stop()` also ends a {@link hang};
 * - {@link hang}/{@link unhang}: a frozen process (SIGSTOP/SIGCONT);
 * - {@link loseLeader}/{@link restoreLeader}: cut off from its peers (it knows no leader);
 * - {@link setLatency}: slow responses.
 * After the cluster is closed every control but the getters throws.
 */
export class ClusterMember {
  /** @internal built by startCluster. */
  constructor(
    private readonly runtime: ClusterRuntime,
    private readonly member: RuntimeMember,
  ) {}

  /** Position in the cluster (0-based). */
  get index(): number {
    return this.member.index;
  }

  /** Member name (`member-0`, ...). */
  get name(): string {
    return this.member.identity.name;
  }

  /** The member's raft id (every response header it sends carries it). */
  get memberId(): bigint {
    return this.member.identity.memberId;
  }

  get clusterId(): bigint {
    return this.member.identity.clusterId;
  }

  get host(): string {
    return this.member.server.host;
  }

  /** The bound port (kept across restarts). */
  get port(): number {
    return this.member.server.port;
  }

  /** `host:port`, as gRPC clients dial it. */
  get endpoint(): string {
    return this.member.server.endpoint;
  }

  /** `http://host:port` (its client URL in MemberList). */
  get url(): string {
    return this.member.server.url;
  }

  /** Whether it listens (started and not stopped). */
  get running(): boolean {
    return this.member.server.running;
  }

  /** Whether it is the cluster's leader now. */
  get isLeader(): boolean {
    return this.runtime.leadership.leaderIndex === this.index && this.runtime.leadership.viewOf(this.index) === 'led';
  }

  /** Whether it knows a leader (false while stopped, cut off, or when the cluster lost quorum). */
  get hasLeader(): boolean {
    return this.runtime.leadership.viewOf(this.index) === 'led';
  }

  /** Whether it is hung. */
  get hung(): boolean {
    return this.runtime.leadership.condition(this.index).hung;
  }

  /** Whether {@link loseLeader} is in effect. */
  get leaderLost(): boolean {
    return this.runtime.leadership.condition(this.index).partitioned;
  }

  /** The response delay in ms. */
  get latency(): number {
    return this.member.proxy?.latency ?? 0;
  }

  /** @internal the member's context (store, leases, ...), for tests. */
  get serverContext(): ServerContext {
    return this.member.server.context;
  }

  /**
   * Starts listening again on the same port (a restarted process). A no-op when running.
   * @throws after the cluster is closed, or when the port is taken.
   */
  start(): Promise<void> {
    return this.member.server.start();
  }

  /**
   * Stops listening, like a killed process: the port refuses connections, open calls are
   * cancelled after a 100 ms grace period, a hang ends. The member's data lives on (it is
   * the cluster's). A no-op when stopped.
   */
  async stop(): Promise<void> {
    await this.member.server.stop();
    if (!this.member.server.closed) this.runtime.setHung(this.index, false);
  }

  /**
   * Freezes the member like SIGSTOP: connections are still accepted but no byte moves either
   * way (no responses, no stream messages, no HTTP/2 PING acks). The other members see it as
   * dead: if it led, another member is elected.
   */
  hang(): void {
    this.assertOpen('hang');
    this.runtime.setHung(this.index, true);
  }

  /** Undoes {@link hang}: held bytes flow on in order; clients that gave up have closed their connections. */
  unhang(): void {
    this.assertOpen('unhang');
    this.runtime.setHung(this.index, false);
  }

  /**
   * Cuts the member off from its peers: it knows no leader (Status.leader 0), while the others
   * keep one (re-electing if it led, and if a quorum is left). See docs/server.md for what
   * each call then gets.
   */
  loseLeader(): void {
    this.assertOpen('loseLeader');
    this.runtime.leadership.set(this.index, { partitioned: true });
  }

  /** Undoes {@link loseLeader}: the member follows the current leader again. */
  restoreLeader(): void {
    this.assertOpen('restoreLeader');
    this.runtime.leadership.set(this.index, { partitioned: false });
  }

  /**
   * Delays every byte the member sends to clients (responses, stream messages) by `ms`
   * milliseconds; 0 clears it. Bytes already delayed are sent no later than `ms` from now.
   * @throws TypeError for a negative or non-finite `ms`.
   */
  setLatency(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(`setLatency: expected a number of milliseconds >= 0, got ${describe(ms)}`);
    }
    this.assertOpen('setLatency');
    this.member.proxy?.setLatency(ms);
  }

  private assertOpen(what: string): void {
    if (this.member.server.closed) throw new Error(`etcdkit cluster: ${what}() after close()`);
  }
}
