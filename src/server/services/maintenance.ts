import { SERVER_VERSION, type ServerContext } from '../context.js';
import { etcdErrors } from '../../protocol/error-table.js';
import { etcdError } from '../errors.js';
import type { Alarm } from '../alarms.js';
import { unary } from '../grpc/unary.js';
import { AlarmRequest_AlarmAction as Action, AlarmType, type Init } from '../wire.js';
import type * as M from '../../protocol/messages.generated.js';
import type { ServiceModule } from './service-module.js';

/** etcd's default backend quota (2 GiB). */
const QUOTA_BYTES = 2n * 1024n * 1024n * 1024n;
/** Size of an empty etcd backend file. */
const BASE_DB_BYTES = 20480;

/**
 * The Maintenance service: Status, Alarm, Hash, HashKV, Defragment, MoveLeader. Snapshot and
 * Downgrade are left unimplemented for now.
 */
export function maintenanceService(ctx: ServerContext): ServiceModule {
  const { store, headers, raft, alarms, cluster } = ctx;
  // The backend file only grows until a defragmentation, like bbolt's.
  let dbSize = BASE_DB_BYTES;
  const inUse = () => BASE_DB_BYTES + store.bytesInUse;
  const sizeNow = () => (dbSize = Math.max(dbSize, inUse()));

  return {
    service: 'Maintenance',
    implementation: {
      Status: unary((): Init<M.StatusResponse> => {
        const leader = cluster.leaderId();
        return {
          header: headers.make(store.revision),
          version: SERVER_VERSION,
          dbSize: BigInt(sizeNow()),
          leader,
          raftIndex: raft.index,
          raftTerm: raft.term,
          raftAppliedIndex: raft.index,
          // etcd lists "no leader" first, then the alarms
          errors: leader === 0n ? [etcdErrors.noLeader.message, ...alarms.describe()] : alarms.describe(),
          dbSizeInUse: BigInt(inUse()),
          isLearner: false,
          dbSizeQuota: QUOTA_BYTES,
        };
      }),
      Alarm: unary((r: M.AlarmRequest): Init<M.AlarmResponse> => {
        let list: Alarm[] = [];
        switch (r.action) {
          case Action.GET:
            list = alarms.list(r.alarm);
            break;
          case Action.ACTIVATE: {
            raft.propose();
            if (r.alarm !== AlarmType.NONE) list = [alarms.activate(r.memberID, r.alarm)];
            break;
          }
          case Action.DEACTIVATE: {
            raft.propose();
            const a = alarms.deactivate(r.memberID, r.alarm);
            if (a !== undefined) list = [a];
            break;
          }
        }
        return { header: headers.make(store.revision), alarms: list };
      }),
      Hash: unary((): Init<M.HashResponse> => {
        const h = store.hashKV(0n);
        return { header: headers.make(store.revision), hash: h.hash };
      }),
      HashKV: unary((r: M.HashKVRequest): Init<M.HashKVResponse> => {
        const h = store.hashKV(r.revision);
        return {
          header: headers.make(store.revision),
          hash: h.hash,
          compact_revision: h.compactRevision,
          hash_revision: h.revision,
        };
      }),
      // Only the leader may hand over; to itself it is a no-op, to a non-member it is refused.
      MoveLeader: unary((r: M.MoveLeaderRequest): Init<M.MoveLeaderResponse> => {
        switch (cluster.transferLeader(r.targetID)) {
          case 'done':
            return {};
          case 'notLeader':
            throw etcdError('notLeader');
          case 'badTransferee':
            throw etcdError('badLeaderTransferee');
          case 'unavailable':
            throw etcdError('timeout');
        }
      }),
      // etcd 3.4 to 3.6 answer Defragment with an empty response (no header).
      Defragment: unary((): Init<M.DefragmentResponse> => {
        dbSize = inUse();
        return {};
      }),
    },
  };
}
