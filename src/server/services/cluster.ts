import type { ServerContext } from '../context.js';
import { unary } from '../grpc/unary.js';
import type { Init } from '../wire.js';
import type * as M from '../../protocol/messages.generated.js';
import type { ServiceModule } from './service-module.js';

/**
 * The Cluster service: MemberList shows every member of the cluster with the client URLs it
 * really serves (clients with auto-sync switch to them). Membership changes are not
 * implemented yet.
 */
export function clusterService(ctx: ServerContext): ServiceModule {
  const { headers, cluster } = ctx;
  return {
    service: 'Cluster',
    implementation: {
      // membership responses carry no revision (etcd leaves it 0)
      MemberList: unary(
        (): Init<M.MemberListResponse> => ({
          header: headers.make(0n),
          members: cluster.members().map(({ identity, clientUrls }) => ({
            ID: identity.memberId,
            name: identity.name,
            peerURLs: [...identity.peerUrls],
            clientURLs: [...clientUrls],
            isLearner: false,
          })),
        }),
      ),
    },
  };
}
