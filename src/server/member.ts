import { randomBytes } from 'node:crypto';

/** A random nonzero uint64. */
export function randomUint64(): bigint {
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE();
    if (v !== 0n) return v;
  }
}

/** Who this server is in its (single-member) cluster. Stable for the server's lifetime. */
export interface MemberIdentity {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  /** Member name (etcd's --name; "default" by default). */
  readonly name: string;
  /** Advertised peer URLs (nothing listens there: there are no peers). */
  readonly peerUrls: readonly string[];
}

export function newMemberIdentity(name: string): MemberIdentity {
  return { clusterId: randomUint64(), memberId: randomUint64(), name, peerUrls: ['http://localhost:2380'] };
}
