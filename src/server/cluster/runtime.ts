import type { Clock } from '../clock.js';
import type { ClusterView, MemberInfo, ServerContext, SharedState, TransferResult } from '../context.js';
import { HeaderFactory } from '../grpc/header.js';
import { LeaderGate } from '../leader/gate.js';
import type { MemberIdentity } from '../member.js';
import { MemberServer } from '../member-server.js';
import { createSharedState } from '../shared-state.js';
import { FaultProxy } from './fault-proxy.js';
import { Leadership } from './leadership.js';

export interface RuntimeOptions {
  /** One identity per member (same cluster id). */
  readonly identities: readonly MemberIdentity[];
  readonly host: string;
  /** One port per member (0 = a free one). */
  readonly ports: readonly number[];
  /** Put a {@link FaultProxy} in front of each member (needed for hang and latency). */
  readonly proxied: boolean;
  readonly leader: number;
  readonly requestTimeoutMs: number;
  readonly requireLeaderCancelMs: number;
  readonly clock: Clock;
  readonly minLeaseTtl: number;
  readonly watchProgressNotifyInterval?: number | undefined;
}

/** One member as the runtime holds it. */
export interface RuntimeMember {
  readonly index: number;
  readonly identity: MemberIdentity;
  readonly server: MemberServer;
  readonly gate: LeaderGate;
  readonly proxy: FaultProxy | undefined;
}

/**
 * A simulated etcd cluster: N members over one {@link SharedState} (a write through any
 * member is in every member's store, and every member's watchers see it), one
 * {@link Leadership}, and per member a server, a leader gate and optionally a fault proxy.
 * The public facades (EtcdServer, EtcdCluster) are built on it.
 */
export class ClusterRuntime {
  readonly shared: SharedState;
  readonly leadership: Leadership;
  readonly members: readonly RuntimeMember[];
  private closing: Promise<void> | undefined;

  constructor(options: RuntimeOptions) {
    const { identities } = options;
    this.shared = createSharedState({
      clock: options.clock,
      minLeaseTtl: options.minLeaseTtl,
      leaseIdSeed: identities[0]!.memberId,
    });
    const shared = this.shared;
    this.leadership = new Leadership(
      identities.map((m) => m.memberId),
      options.leader,
      {
        newTerm: () => shared.raft.newTerm(),
        leaderElected: () => shared.leases.promote(),
        leaderLost: () => shared.leases.demote(),
        viewChanged: (i, view) => this.members[i]?.gate.update(view),
      },
    );
    this.members = identities.map((identity, index) => {
      const gate = new LeaderGate(options);
      const proxy = options.proxied ? new FaultProxy() : undefined;
      const context: ServerContext = {
        ...shared,
        member: identity,
        headers: new HeaderFactory(identity, shared.raft),
        cluster: this.viewFor(index),
      };
      const server = new MemberServer(context, {
        host: options.host,
        port: options.ports[index]!,
        watchProgressNotifyInterval: options.watchProgressNotifyInterval,
        gate,
        proxy,
        onRunning: (running) => this.leadership.set(index, { running }),
      });
      return { index, identity, server, gate, proxy };
    });
  }

  /** Starts every member that is not running, then lets the cluster elect. Fails once closed. */
  async startAll(): Promise<void> {
    for (const m of this.members) await m.server.start();
    this.leadership.activate();
  }

  /** Stops every member for good and releases the shared state. Idempotent; works in any state. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.leadership.beginClose();
      await Promise.allSettled(this.members.map((m) => m.server.close()));
      for (const m of this.members) {
        m.gate.close();
        m.proxy?.dropConnections();
      }
      this.leadership.close();
      this.shared.leases.close();
    })();
    return this.closing;
  }

  /** Marks member `index` hung (its proxy stops forwarding) or not. */
  setHung(index: number, hung: boolean): void {
    const m = this.members[index]!;
    if (hung) m.proxy?.hang();
    else m.proxy?.unhang();
    this.leadership.set(index, { hung });
  }

  private viewFor(index: number): ClusterView {
    return {
      members: (): MemberInfo[] =>
        this.members.map((m) => ({ identity: m.identity, clientUrls: m.server.hasStarted ? [m.server.url] : [] })),
      leaderId: () => this.leadership.leaderIdSeenBy(index),
      transferLeader: (targetId): TransferResult => {
        if (this.leadership.viewOf(index) !== 'led' || this.leadership.leaderIndex !== index) return 'notLeader';
        const target = this.members.findIndex((m) => m.identity.memberId === targetId);
        if (target < 0) return 'badTransferee';
        return this.leadership.transfer(target) ? 'done' : 'unavailable';
      },
    };
  }
}
