import type { ServerContext } from '../context.js';
import { etcdError } from '../errors.js';
import { unary } from '../grpc/unary.js';
import { KeepAliveStream, type KeepAliveCall } from '../lease/keepalive-stream.js';
import { keyBytes } from '../mvcc/key-span.js';
import { AlarmType, type Init } from '../wire.js';
import type * as M from '../../protocol/messages.generated.js';
import type { ServiceModule } from './service-module.js';

/**
 * The Lease service: LeaseGrant, LeaseRevoke, LeaseKeepAlive (bidi), LeaseTimeToLive,
 * LeaseLeases, over the cluster's {@link Lessor} (`ctx.leases`). Lease ops never bump the
 * revision, except a revoke deleting keys (one revision). The lessor manages expiry while the
 * cluster has a leader (see src/server/cluster/runtime.ts).
 */
export function leaseService(ctx: ServerContext): ServiceModule {
  const { leases, headers, store, alarms } = ctx;
  const streams = new Set<KeepAliveStream>();

  const checkCorrupt = () => {
    if (alarms.has(AlarmType.CORRUPT)) throw etcdError('corrupt');
  };

  const keepAlive = (request: M.LeaseKeepAliveRequest): Init<M.LeaseKeepAliveResponse> => {
    // etcd fills the header before renewing (a renew may wait for an expired lease's revoke)
    const header = headers.make(store.revision);
    const ttl = leases.renew(request.ID);
    return { header, ID: request.ID, TTL: ttl ?? 0n };
  };

  return {
    service: 'Lease',
    implementation: {
      LeaseGrant: unary((r: M.LeaseGrantRequest): Init<M.LeaseGrantResponse> => {
        checkCorrupt();
        if (alarms.has(AlarmType.NOSPACE)) throw etcdError('noSpace');
        const lease = leases.grant(r.ID, r.TTL);
        return { header: headers.make(store.revision), ID: lease.id, TTL: lease.ttl };
      }),
      LeaseRevoke: unary((r: M.LeaseRevokeRequest): Init<M.LeaseRevokeResponse> => {
        checkCorrupt();
        leases.revoke(r.ID);
        return { header: headers.make(store.revision) };
      }),
      LeaseKeepAlive: (call: KeepAliveCall) => {
        const stream = new KeepAliveStream(call, keepAlive, (s) => streams.delete(s));
        if (stream.open) streams.add(stream);
      },
      LeaseTimeToLive: unary((r: M.LeaseTimeToLiveRequest): Init<M.LeaseTimeToLiveResponse> => {
        const lease = leases.lookup(r.ID);
        // an unknown lease is not an error: TTL -1
        if (lease === undefined) return { header: headers.make(store.revision), ID: r.ID, TTL: -1n };
        return {
          header: headers.make(store.revision),
          ID: r.ID,
          TTL: leases.remainingSeconds(lease),
          grantedTTL: lease.ttl,
          keys: r.keys ? lease.sortedKeys().map(keyBytes) : [],
        };
      }),
      LeaseLeases: unary(
        (): Init<M.LeaseLeasesResponse> => ({
          header: headers.make(store.revision),
          leases: leases.list().map((l) => ({ ID: l.id })),
        }),
      ),
    },
    // The lessor is the cluster's: its expiry follows the cluster leader (promoted on each
    // election, demoted without a leader) and it is closed with the cluster, not here.
    stopped() {
      for (const s of [...streams]) s.cancel();
      streams.clear();
    },
    close() {
      for (const s of [...streams]) s.cancel();
      streams.clear();
    },
  };
}
