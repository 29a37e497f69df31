/**
 * Errors of the lock and election recipes. Every one is an `EtcdError`, so a single
 * `instanceof EtcdError` check still catches everything etcdkit raises.
 */
import { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';

/**
 * Why a held lock or a leadership (or a queued candidate key) ended:
 * - `session-ended`: the session's lease was lost (expired, revoked, closed, deadline missed);
 * - `key-deleted`: the key was deleted (or replaced) by someone else while the session lived;
 * - `released`: this process gave it up (`unlock()`, `resign()`, or an aborted wait);
 * - `watch-failed`: the watch guarding the key failed for good, so holding it can no longer
 *   be confirmed; it is given up (and its key deleted) to stay on the safe side.
 */
export type OwnershipLostReason = 'session-ended' | 'key-deleted' | 'released' | 'watch-failed';

const lossText: Record<OwnershipLostReason, string> = {
  'session-ended': 'the session ended',
  'key-deleted': 'its key was deleted by someone else',
  released: 'it was released',
  'watch-failed': 'the watch on its key failed, so it can no longer be confirmed',
};

const lossCode: Record<OwnershipLostReason, number> = {
  'session-ended': GrpcCode.ABORTED,
  'key-deleted': GrpcCode.ABORTED,
  released: GrpcCode.CANCELLED,
  'watch-failed': GrpcCode.UNAVAILABLE,
};

/** A lock key or leader key ended; see {@link OwnershipLostReason}. Base of the two classes below. */
export class OwnershipLostError extends EtcdError {
  /** Why it ended. */
  readonly reason: OwnershipLostReason;
  /** The key (`<prefix>/<lease hex>`) that was held. */
  readonly key: Uint8Array;
  /** Its create revision (the fencing token). */
  readonly revision: bigint;

  constructor(what: string, key: Uint8Array, keyText: string, revision: bigint, reason: OwnershipLostReason, cause?: unknown) {
    const text = `${what} ${JSON.stringify(keyText)} (revision ${revision}) lost: ${lossText[reason]}`;
    super({ code: lossCode[reason], etcdMessage: text, retryable: false, cause });
    this.reason = reason;
    this.key = key;
    this.revision = revision;
  }
}

/** A lock is no longer held (the reason of a `HeldLock`'s `signal`). */
export class LockLostError extends OwnershipLostError {}

/** A leadership ended (the reason of a `Leadership`'s `signal`). */
export class LeadershipLostError extends OwnershipLostError {}

/**
 * The session ended before a lock or election wait completed (Go: `mutex: session is
 * expired`). `cause` is the session's `LeaseLostError`.
 */
export class SessionExpiredError extends EtcdError {
  constructor(what: string, cause?: unknown) {
    super({ code: GrpcCode.ABORTED, etcdMessage: `${what}: the session has ended`, retryable: false, cause });
  }
}

/** The lock is held by another session (Go: `mutex: Locked by another session`). */
export class LockedError extends EtcdError {
  /** The holder's key, when known. */
  readonly ownerKey: Uint8Array | undefined;
  /** The holder's create revision (its fencing token), when known. */
  readonly ownerRevision: bigint | undefined;

  constructor(prefixText: string, ownerKey?: Uint8Array, ownerKeyText?: string, ownerRevision?: bigint) {
    const holder = ownerKeyText === undefined ? 'another session' : `${JSON.stringify(ownerKeyText)} (revision ${ownerRevision})`;
    super({
      code: GrpcCode.FAILED_PRECONDITION,
      etcdMessage: `lock ${JSON.stringify(prefixText)} is held by ${holder}`,
      retryable: true,
    });
    this.ownerKey = ownerKey;
    this.ownerRevision = ownerRevision;
  }
}

/** A leader-only operation on an election this process does not lead (Go: `election: not leader`). */
export class ElectionNotLeaderError extends EtcdError {
  constructor(prefixText: string, detail = 'this candidate is not the leader', cause?: unknown) {
    super({
      code: GrpcCode.FAILED_PRECONDITION,
      etcdMessage: `election ${JSON.stringify(prefixText)}: ${detail}`,
      retryable: false,
      cause,
    });
  }
}

/** The election has no leader (Go: `election: no leader`); from `leader({ required: true })`. */
export class ElectionNoLeaderError extends EtcdError {
  constructor(prefixText: string) {
    super({
      code: GrpcCode.NOT_FOUND,
      etcdMessage: `election ${JSON.stringify(prefixText)} has no leader`,
      retryable: true,
    });
  }
}
