import type { Alarms } from './alarms.js';
import type { Clock } from './clock.js';
import type { HeaderFactory } from './grpc/header.js';
import type { Lessor } from './lease/lessor.js';
import type { MemberIdentity } from './member.js';
import type { MvccStore } from './mvcc/store.js';
import type { RaftState } from './raft-state.js';

/** The etcd version this server reports (Status, clients' version checks). */
export const SERVER_VERSION = '3.5.17';

/**
 * The state shared by every service module of one server. It outlives stop()/start(), so a
 * restarted server keeps its data (like a member restarting from disk).
 */
export interface ServerContext {
  readonly store: MvccStore;
  readonly member: MemberIdentity;
  readonly raft: RaftState;
  readonly headers: HeaderFactory;
  readonly alarms: Alarms;
  /** The server's time source (real time unless the `clock` option says otherwise). */
  readonly clock: Clock;
  /** The lease table (also the store's lease hook). */
  readonly leases: Lessor;
  /** The client URLs currently served (empty while stopped). */
  clientUrls(): readonly string[];
}
