/**
 * How the store talks to leases: it asks whether a lease exists (Put checks) and, after each
 * commit, reports which keys moved between leases. The Lease service installs its own
 * implementation; until then no lease exists.
 */

/** A key that changed lease in a committed revision (0n = no lease). */
export interface LeaseMove {
  readonly key: Uint8Array;
  readonly from: bigint;
  readonly to: bigint;
}

export interface LeaseAttachments {
  /** Whether lease `id` exists (is granted and not revoked). */
  has(id: bigint): boolean;
  /** Called once per committed revision with its lease moves, in change order. */
  apply(moves: readonly LeaseMove[]): void;
}

/** The default: no lease exists, so any nonzero lease in a Put is "lease not found". */
export const noLeases: LeaseAttachments = {
  has: () => false,
  apply: () => {},
};
