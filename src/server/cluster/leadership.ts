/**
 * Who leads a simulated cluster. A member takes part in raft when it runs, is not hung and is
 * not cut off from its peers (loseLeader); the cluster has a leader only while a quorum takes
 * part. The leader stays while it takes part; otherwise the lowest-index member taking part
 * is elected. Every election after the first starts a new raft term, as etcd's do.
 */

/** What one member reports about its leader. */
export type MemberView = 'idle' | 'led' | 'leaderless';

/** The fault-relevant condition of one member. */
export interface MemberCondition {
  /** Listening (started and not stopped). */
  readonly running: boolean;
  /** Frozen like a SIGSTOPped process: the others see it as dead. */
  readonly hung: boolean;
  /** Cut off from its peers: it knows no leader, the others go on without it. */
  readonly partitioned: boolean;
}

/** What the leadership tells the rest of the cluster. */
export interface LeadershipHooks {
  /** A new election (not the first): the raft term goes up. */
  newTerm(): void;
  /** The cluster has a (new) leader: leases get their full TTL again (etcd's lessor Promote). */
  leaderElected(): void;
  /** The cluster has no leader any more: lease expiry stops. */
  leaderLost(): void;
  /** Member `index` now sees `view` (called only on change). */
  viewChanged(index: number, view: MemberView): void;
}

/**
 * - dormant: members are still starting; no election happens yet;
 * - active: the leader follows the members' conditions;
 * - closing: the cluster shuts down: no more elections, the leader is only lost;
 * - closed: nothing changes any more.
 */
type Phase = 'dormant' | 'active' | 'closing' | 'closed';

export class Leadership {
  private phase: Phase = 'dormant';
  private readonly conditions: MemberCondition[];
  private readonly views: MemberView[];
  private current: number | undefined;
  private elections = 0;

  /**
   * @param memberIds the raft id of each member, by index
   * @param preferred the member elected first when it takes part
   */
  constructor(
    private readonly memberIds: readonly bigint[],
    private readonly preferred: number,
    private readonly hooks: LeadershipHooks,
  ) {
    this.conditions = memberIds.map(() => ({ running: false, hung: false, partitioned: false }));
    this.views = memberIds.map(() => 'idle' as MemberView);
  }

  /** The index of the leading member, or undefined when the cluster has no leader. */
  get leaderIndex(): number | undefined {
    return this.current;
  }

  /** How many members must take part for the cluster to have a leader. */
  get quorum(): number {
    return Math.floor(this.memberIds.length / 2) + 1;
  }

  /** The condition of member `index`. */
  condition(index: number): MemberCondition {
    return this.conditions[index]!;
  }

  /** The leader id member `index` reports (Status.leader): 0n when it knows none. */
  leaderIdSeenBy(index: number): bigint {
    return this.views[index] === 'led' ? this.memberIds[this.current!]! : 0n;
  }

  /** The view of member `index`. */
  viewOf(index: number): MemberView {
    return this.views[index]!;
  }

  /** Starts electing (after the members' first start). */
  activate(): void {
    if (this.phase !== 'dormant') return;
    this.phase = 'active';
    this.update();
  }

  /** Changes the condition of member `index` and re-elects if needed. */
  set(index: number, change: Partial<MemberCondition>): void {
    if (this.phase === 'closed') return;
    this.conditions[index] = { ...this.conditions[index]!, ...change };
    this.update();
  }

  /**
   * Moves leadership to member `target` (MoveLeader). Returns false when it cannot lead now
   * (not taking part, or there is no leader to hand over from).
   */
  transfer(target: number): boolean {
    if (this.phase !== 'active' || this.current === undefined || !this.takesPart(target)) return false;
    if (target === this.current) return true;
    this.elect(target);
    this.publishViews();
    return true;
  }

  /** The cluster is shutting down: members stopping from now on cause no new election. */
  beginClose(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closing';
  }

  /** Freezes everything: no hook is called after this. */
  close(): void {
    this.phase = 'closed';
  }

  private takesPart(index: number): boolean {
    const c = this.conditions[index]!;
    return c.running && !c.hung && !c.partitioned;
  }

  private update(): void {
    if (this.phase === 'closing' && this.current !== undefined && !this.takesPart(this.current)) {
      this.current = undefined;
      this.hooks.leaderLost();
    }
    if (this.phase !== 'active') {
      this.publishViews();
      return;
    }
    const taking = this.memberIds.map((_, i) => i).filter((i) => this.takesPart(i));
    if (taking.length < this.quorum) {
      if (this.current !== undefined) {
        this.current = undefined;
        this.hooks.leaderLost();
      }
    } else if (this.current === undefined || !this.takesPart(this.current)) {
      this.elect(this.elections === 0 && this.takesPart(this.preferred) ? this.preferred : taking[0]!);
    }
    this.publishViews();
  }

  private elect(index: number): void {
    if (this.elections > 0) this.hooks.newTerm();
    this.elections++;
    this.current = index;
    this.hooks.leaderElected();
  }

  private publishViews(): void {
    for (let i = 0; i < this.views.length; i++) {
      const c = this.conditions[i]!;
      const leads = (this.phase === 'active' || this.phase === 'closing') && this.current !== undefined;
      const view: MemberView = !c.running ? 'idle' : leads && !c.partitioned ? 'led' : 'leaderless';
      if (view === this.views[i]) continue;
      this.views[i] = view;
      if (this.phase !== 'closed') this.hooks.viewChanged(i, view);
    }
  }
}
