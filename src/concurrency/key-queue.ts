/**
 * The queue every lock and election stands in (Go's `Mutex.Lock` / `Election.Campaign`):
 * put my key if absent (reusing it if this session already has one), learn the oldest key,
 * and while it is not mine wait for my predecessors' deletion, then confirm with the server
 * that my key is the oldest, so it still exists. Whatever fails or aborts, my key is deleted
 * again (fenced on its create revision), so no waiter is left behind.
 */
import type { Client } from '../client.js';
import type { KeyValue, ResponseHeader } from '../convert.js';
import { EtcdError, InvalidArgumentError } from '../errors.js';
import { Compare, Op } from '../kv/txn.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { TxnResult } from '../kv/types.js';
import { ElectionNotLeaderError, OwnershipLostError, SessionExpiredError } from './errors.js';
import { firstCreate, sameBytes } from './keys.js';
import type { RecipeKeys } from './keys.js';
import type { ReleaseSlot } from './local-slots.js';
import { fencedDelete, OwnedKey } from './owned-key.js';
import type { LostErrorFactory } from './owned-key.js';
import { retryIdempotent } from './retry.js';
import type { Session } from './session.js';
import type { WaitScope } from './wait-scope.js';
import { waitDeletes } from './wait-deletes.js';

/** How long a failed or aborted wait waits for its own key's deletion before returning (it continues after). */
const abandonWaitMs = 2_000;
/** Bound on re-waits after a confirmation found an older key (never expected; revisions only grow). */
const maxRounds = 1_000;

/** What a recipe's queue operations need. */
export interface QueueContext {
  readonly client: Client;
  readonly session: Session;
  readonly keys: RecipeKeys;
  readonly lostError: LostErrorFactory;
}

/** How the key enters the queue. */
export type Entry =
  /** Put the key with `value` if absent; if present, keep its place (and, with `overwrite`, set `value`). */
  | { readonly kind: 'put'; readonly value: Uint8Array; readonly overwrite: boolean }
  /** The key exists already with this create revision (resuming an election). */
  | { readonly kind: 'resume'; readonly revision: bigint };

/** The outcome: the key held, or (when not waiting) the key that holds it instead. */
export type QueueOutcome = { readonly held: OwnedKey } | { readonly held: undefined; readonly owner: KeyValue | undefined };

interface Entered {
  readonly revision: bigint;
  readonly header: ResponseHeader;
  readonly first: KeyValue | undefined;
}

/**
 * Enters the queue and, with `wait`, waits for the key's turn. The slot (in-process
 * exclusion for this key) must be held by the caller; it passes to the OwnedKey, or is given
 * back on failure. Rejects with the scope's reason when the scope stops the wait.
 */
export async function joinQueue(
  ctx: QueueContext,
  entry: Entry,
  wait: boolean,
  scope: WaitScope,
  releaseSlot: ReleaseSlot,
): Promise<QueueOutcome> {
  let entered: Entered;
  try {
    entered = await enter(ctx, entry, scope);
  } catch (error) {
    const reported = scope.explain(error);
    if (entry.kind === 'put' && mayHavePut(error, scope)) {
      // The put may have been applied: delete the key if it is ours (any incarnation of this session's key is).
      const guard = Compare.lease(ctx.keys.key, '==', ctx.session.leaseId);
      await bounded(fencedDelete(ctx.client, ctx.keys.key, guard).finally(releaseSlot));
    } else {
      releaseSlot();
    }
    throw reported;
  }
  const owned = new OwnedKey({
    client: ctx.client,
    session: ctx.session,
    keys: ctx.keys,
    revision: entered.revision,
    watchFrom: entered.header.revision + 1n,
    releaseSlot,
    lostError: ctx.lostError,
  });
  const stop = (error: EtcdError) => scope.fail(error);
  owned.onLost(stop);
  try {
    let first = entered.first;
    for (let round = 0; !isMine(first, ctx.keys.key, entered.revision); round++) {
      if (first === undefined || first.createRevision > entered.revision) {
        // The oldest key is newer than mine: mine is gone.
        owned.lose('key-deleted');
        throw owned.lostError;
      }
      if (!wait) {
        await owned.release().catch(() => false); // best effort; retried for a while, the lease removes it at the latest
        return { held: undefined, owner: first };
      }
      if (round >= maxRounds) throw new EtcdError({ code: GrpcCode.INTERNAL, etcdMessage: `${scope.what}: queue did not settle`, retryable: false });
      await waitDeletes(ctx.client, ctx.keys.prefix, entered.revision - 1n, scope.signal);
      const confirmed = await ctx.client.kv.get(ctx.keys.prefix, { ...firstCreate, keysOnly: true, signal: scope.signal });
      first = confirmed.kvs[0];
    }
    scope.check();
    owned.markHeld();
    return { held: owned };
  } catch (error) {
    let reported = scope.explain(error);
    if (reported instanceof OwnershipLostError && (reported.reason === 'key-deleted' || reported.reason === 'session-ended')) {
      // Go's ErrSessionExpired: the queued key is gone (its lease ended, or someone deleted it).
      reported = new SessionExpiredError(scope.what, reported);
    }
    await bounded(owned.release().catch(() => false));
    throw reported;
  } finally {
    owned.offLost(stop);
  }
}

async function enter(ctx: QueueContext, entry: Entry, scope: WaitScope): Promise<Entered> {
  const { client, keys, session } = ctx;
  const owner = Op.get(keys.prefix, firstCreate);
  if (entry.kind === 'resume') {
    const result = await retryIdempotent(
      (signal) =>
        client.kv
          .txn()
          .if(Compare.createRevision(keys.key, '==', entry.revision))
          .then(Op.get(keys.key), owner)
          .commit({ signal }),
      scope.signal,
    );
    const mine = rangeOf(result, 0)[0];
    if (!result.succeeded || mine === undefined) {
      throw new ElectionNotLeaderError(keys.name, `key ${JSON.stringify(keys.keyText)} does not exist with create revision ${entry.revision}`);
    }
    if (mine.lease !== session.leaseId) {
      throw new InvalidArgumentError(
        'leaderKey',
        `is attached to lease ${mine.lease.toString(16)}, not to the session's lease ${session.leaseId.toString(16)}`,
      );
    }
    return { revision: entry.revision, header: result.header, first: rangeOf(result, 1)[0] };
  }
  const result = await retryIdempotent(
    (signal) =>
      client.kv
        .txn()
        .if(Compare.createRevision(keys.key, '==', 0))
        .then(Op.put(keys.key, entry.value, { lease: session.leaseId }), owner)
        .else(Op.get(keys.key), owner)
        .commit({ signal }),
    scope.signal,
  );
  const first = rangeOf(result, 1)[0];
  if (result.succeeded) return { revision: result.header.revision, header: result.header, first };
  const existing = rangeOf(result, 0)[0];
  if (existing === undefined) throw new EtcdError({ code: GrpcCode.INTERNAL, etcdMessage: 'the enqueue transaction returned no key', retryable: false });
  let header = result.header;
  if (entry.overwrite && !sameBytes(existing.value, entry.value)) {
    const put = await retryIdempotent(
      (signal) =>
        client.kv
          .txn()
          .if(Compare.createRevision(keys.key, '==', existing.createRevision))
          .then(Op.put(keys.key, entry.value, { lease: session.leaseId }))
          .commit({ signal }),
      scope.signal,
    );
    if (!put.succeeded) throw ctx.lostError(existing.createRevision, 'key-deleted');
    header = put.header;
  }
  return { revision: existing.createRevision, header, first };
}

function rangeOf(result: TxnResult, index: number): KeyValue[] {
  const response = result.responses[index];
  return response?.type === 'get' ? response.kvs : [];
}

function isMine(first: KeyValue | undefined, key: Uint8Array, revision: bigint): boolean {
  return first !== undefined && first.createRevision === revision && sameBytes(first.key, key);
}

function mayHavePut(error: unknown, scope: WaitScope): boolean {
  return scope.signal.aborted || (error instanceof EtcdError && error.mayHaveBeenApplied);
}

/** Waits for `work` at most {@link abandonWaitMs}; it goes on in the background after that. */
async function bounded(work: Promise<unknown>): Promise<void> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, abandonWaitMs)))]);
  clearTimeout(timer);
}
