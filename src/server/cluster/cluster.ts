import { ClusterMember } from './cluster-member.js';
import type { ClusterRuntime } from './runtime.js';

/**
 * A simulated multi-member etcd cluster in this process: every member listens on its own
 * port, all share one store, lease table and alarms, and one of them leads. Members can be
 * stopped, hung, cut off from the leader and slowed down (see {@link ClusterMember}).
 */
export class EtcdCluster {
  /** The members, in order (`member-0` first). */
  readonly members: readonly ClusterMember[];

  /** @internal use {@link startCluster}. */
  constructor(private readonly runtime: ClusterRuntime) {
    this.members = runtime.members.map((m) => new ClusterMember(runtime, m));
  }

  /** Every member's `host:port`, in member order (what clients take as endpoints). */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** Every member's `http://host:port`, in member order. */
  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  /** The cluster id every response header carries. */
  get clusterId(): bigint {
    return this.members[0]!.clusterId;
  }

  /** The current store revision (shared by all members). */
  get revision(): bigint {
    return this.runtime.shared.store.revision;
  }

  /** The leading member, or undefined while the cluster has no leader. */
  get leader(): ClusterMember | undefined {
    const i = this.runtime.leadership.leaderIndex;
    return i === undefined ? undefined : this.members[i];
  }

  /**
   * Stops every member for good and releases every socket and timer, whatever state the
   * members are in (stopped, hung, leaderless, slowed). Idempotent.
   */
  close(): Promise<void> {
    return this.runtime.close();
  }
}
