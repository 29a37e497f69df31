import type { Alarms } from './alarms.js';
import type { Clock } from './clock.js';
import type { HeaderFactory } from './grpc/header.js';
import type { Lessor } from './lease/lessor.js';
import type { MemberIdentity } from './member.js';
import type { MvccStore } from './mvcc/store.js';
import type { RaftState } from './raft-state.js';

/** The etcd version this server reports (Status, clients' version checks). */
export const SERVER_VERSION = '3.5.17';

/** One entry of MemberList. */
export interface MemberInfo {
  readonly identity: MemberIdentity;
  /** The client URLs it serves (empty until its first start). */
  readonly clientUrls: readonly string[];
}

/** Result of a leader transfer request (Maintenance.MoveLeader). */
export type TransferResult = 'done' | 'notLeader' | 'badTransferee' | 'unavailable';

/** How one member sees its cluster: who is in it and who leads. */
export interface ClusterView {
  /** Every member, in member order. */
  members(): readonly MemberInfo[];
  /** The leader this member knows (Status.leader); 0n when it has none. */
  leaderId(): bigint;
  /** Hands leadership from this member to `targetId`. */
  transferLeader(targetId: bigint): TransferResult;
}

/**
 * The state shared by every member of one (simulated) cluster: the replicated store, lease
 * table, alarms, raft bookkeeping and clock. It outlives members' stop()/start(), so a
 * restarted member keeps its data (like a member restarting from disk).
 */
export interface SharedState {
  readonly store: MvccStore;
  readonly raft: RaftState;
  readonly alarms: Alarms;
  /** The cluster's time source (real time unless the `clock` option says otherwise). */
  readonly clock: Clock;
  /** The lease table (also the store's lease hook). */
  readonly leases: Lessor;
}

/**
 * What the service modules of one member see: the shared state, plus the member's identity,
 * its response headers and its view of the cluster.
 */
export interface ServerContext extends SharedState {
  readonly member: MemberIdentity;
  readonly headers: HeaderFactory;
  readonly cluster: ClusterView;
}
