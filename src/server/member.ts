import { randomBytes } from 'node:crypto';

/** A random nonzero uint64. */
export function randomUint64(): bigint {
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE();
    if (v !== 0n) return v;
  }
}

/** Who a member is in its cluster. Stable for the member's lifetime. */
export interface MemberIdentity {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  /** Member name (etcd's --name; "default" for a single server). */
  readonly name: string;
  /** Advertised peer URLs (placeholders: nothing listens there). */
  readonly peerUrls: readonly string[];
}

/** The identity of a single-member server. */
export function newMemberIdentity(name: string): MemberIdentity {
  return { clusterId: randomUint64(), memberId: randomUint64(), name, peerUrls: ['http://localhost:2380'] };
}

/**
 * Identities for the members of one cluster: distinct random ids, one cluster id, and
 * distinct placeholder peer URLs (`http://member-I.invalid:2380`; `.invalid` never resolves).
 */
export function newClusterIdentities(names: readonly string[]): MemberIdentity[] {
  const clusterId = randomUint64();
  const ids = new Set<bigint>();
  return names.map((name, i) => {
    let memberId = randomUint64();
    while (ids.has(memberId)) memberId = randomUint64();
    ids.add(memberId);
    return { clusterId, memberId, name, peerUrls: [`http://member-${i}.invalid:2380`] };
  });
}
