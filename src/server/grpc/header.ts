import type { MemberIdentity } from '../member.js';
import type { RaftState } from '../raft-state.js';
import type { Init, ResponseHeader } from '../wire.js';

/** Fills response headers: cluster_id, member_id, raft_term, and a revision. */
export class HeaderFactory {
  constructor(
    private readonly member: MemberIdentity,
    private readonly raft: RaftState,
  ) {}

  /** A full header; revision 0 (absent) for responses that carry none (membership). */
  make(revision: bigint): Init<ResponseHeader> {
    return {
      cluster_id: this.member.clusterId,
      member_id: this.member.memberId,
      revision,
      raft_term: this.raft.term,
    };
  }

  /** `resp` with its header completed (keeping the revision it already has). */
  fill<T extends { header?: Init<ResponseHeader> | undefined }>(resp: T): T {
    resp.header = this.make(resp.header?.revision ?? 0n);
    return resp;
  }
}
