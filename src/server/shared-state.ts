import { Alarms } from './alarms.js';
import type { Clock } from './clock.js';
import type { SharedState } from './context.js';
import { Lessor } from './lease/lessor.js';
import { MvccStore } from './mvcc/store.js';
import { RaftState } from './raft-state.js';

export interface SharedStateOptions {
  readonly clock: Clock;
  readonly minLeaseTtl: number;
  /** Seeds generated lease ids (etcd puts member-id bits in them). */
  readonly leaseIdSeed: bigint;
}

/** Builds the state one cluster shares: store, lessor (wired as the store's lease hook), raft, alarms. */
export function createSharedState(options: SharedStateOptions): SharedState {
  const store = new MvccStore();
  const raft = new RaftState();
  const leases = new Lessor({
    store,
    raft,
    clock: options.clock,
    memberId: options.leaseIdSeed,
    minTtl: options.minLeaseTtl,
  });
  store.setLeaseAttachments(leases);
  return { store, raft, alarms: new Alarms(), clock: options.clock, leases };
}
