import type { ServerContext } from '../context.js';
import { unary } from '../grpc/unary.js';
import type { Init } from '../wire.js';
import type * as M from '../../protocol/messages.generated.js';
import type { ServiceModule } from './service-module.js';

/**
 * The Cluster service: MemberList shows this one member with the URLs it really serves
 * (clients with auto-sync switch to them). Membership changes are not implemented yet.
 */
export function clusterService(ctx: ServerContext): ServiceModule {
  const { member, headers } = ctx;
  return {
    service: 'Cluster',
    implementation: {
      // membership responses carry no revision (etcd leaves it 0)
      MemberList: unary(
        (): Init<M.MemberListResponse> => ({
          header: headers.make(0n),
          members: [
            {
              ID: member.memberId,
              name: member.name,
              peerURLs: [...member.peerUrls],
              clientURLs: [...ctx.clientUrls()],
              isLearner: false,
            },
          ],
        }),
      ),
    },
  };
}
