/**
 * One session's key in a recipe queue, from the moment it is in etcd until it is given up.
 *
 * States: `queued` (waiting behind older keys) -> `held` (the oldest key: lock held or
 * leader) -> `lost`; or `queued` -> `lost`. Loss is final and reported once, at once, through
 * `signal`, `lost` and listeners, when the session ends, when a watch on the key sees it
 * deleted, when that watch fails for good, or when this process releases it.
 */
import type { Client } from '../client.js';
import { Compare, Op } from '../kv/txn.js';
import { DeadlineExceededError, internalError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { WatchResync } from '../watch/types.js';
import type { Watch } from '../watch/watch.js';
import type { OwnershipLostError, OwnershipLostReason } from './errors.js';
import type { RecipeKeys } from './keys.js';
import { sameBytes } from './keys.js';
import type { ReleaseSlot } from './local-slots.js';
import { isTransient, retryIdempotent } from './retry.js';
import type { Session } from './session.js';

/** Where an owned key is in its life. */
export type OwnedState = 'queued' | 'held' | 'lost';

/** Builds the typed loss error (LockLostError or LeadershipLostError). */
export type LostErrorFactory = (revision: bigint, reason: OwnershipLostReason, cause?: unknown) => OwnershipLostError;

/** Per-attempt bound of the recipes' own cleanup writes. */
const cleanupAttemptMs = 5_000;
/** Default bound of all attempts of a cleanup write. */
const cleanupBudgetMs = 10_000;
/** Bound of the best-effort delete after the session ended (the lease removes the key anyway). */
const afterSessionBudgetMs = 2_000;
/** Pause before re-creating a guard watch that etcd could not be reached to create. */
const rewatchDelayMs = 200;
/** Most re-creations of a guard watch (the session's deadline ends a longer outage first). */
const maxRewatches = 10_000;

export interface OwnedKeyInit {
  readonly client: Client;
  readonly session: Session;
  readonly keys: RecipeKeys;
  /** Create revision of the key: the fencing token. */
  readonly revision: bigint;
  /** Watch the key from this revision (the one after the read that saw it exist). */
  readonly watchFrom: bigint;
  /** Gives back the in-process slot of the key. */
  readonly releaseSlot: ReleaseSlot;
  readonly lostError: LostErrorFactory;
}

export class OwnedKey {
  readonly client: Client;
  readonly session: Session;
  readonly keys: RecipeKeys;
  readonly revision: bigint;
  /** Aborted at loss; the reason is the OwnershipLostError. */
  readonly signal: AbortSignal;
  /** Resolves with the loss error. Never rejects. */
  readonly lost: Promise<OwnershipLostError>;
  #state: OwnedState = 'queued';
  #error: OwnershipLostError | undefined;
  readonly #abort = new AbortController();
  #resolveLost!: (error: OwnershipLostError) => void;
  readonly #listeners = new Set<(error: OwnershipLostError) => void>();
  readonly #lostError: LostErrorFactory;
  #watch: Watch | undefined;
  #rewatchTimer: NodeJS.Timeout | undefined;
  #releaseSlot: ReleaseSlot | undefined;
  #deleting: Promise<boolean> | undefined;
  readonly #onSessionEnd = () => this.lose('session-ended', this.session.signal.reason);

  constructor(init: OwnedKeyInit) {
    this.client = init.client;
    this.session = init.session;
    this.keys = init.keys;
    this.revision = init.revision;
    this.#lostError = init.lostError;
    this.#releaseSlot = init.releaseSlot;
    this.signal = this.#abort.signal;
    this.lost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
    if (init.session.signal.aborted) {
      this.lose('session-ended', init.session.signal.reason);
      return;
    }
    init.session.signal.addEventListener('abort', this.#onSessionEnd, { once: true });
    this.#watchKey(init.watchFrom, 0);
  }

  get state(): OwnedState {
    return this.#state;
  }

  /** The loss error once lost. */
  get lostError(): OwnershipLostError | undefined {
    return this.#error;
  }

  /** `queued` -> `held`. @throws the loss error if already lost. */
  markHeld(): void {
    if (this.#error !== undefined) throw this.#error;
    this.#state = 'held';
  }

  /** A compare that holds while this key exists with this create revision. */
  ownerCompare(): Compare {
    return Compare.createRevision(this.keys.key, '==', this.revision);
  }

  /** Calls `listener` once at loss (asynchronously if already lost). Listener errors become warnings. */
  onLost(listener: (error: OwnershipLostError) => void): void {
    const error = this.#error;
    if (error === undefined) {
      this.#listeners.add(listener);
      return;
    }
    queueMicrotask(() => callListener(listener, error));
  }

  /** Removes a listener added with {@link onLost}. */
  offLost(listener: (error: OwnershipLostError) => void): void {
    this.#listeners.delete(listener);
  }

  /** Declares the loss (first call wins) and reports it at once. */
  lose(reason: OwnershipLostReason, cause?: unknown): void {
    if (this.#error !== undefined) return;
    const error = this.#lostError(this.revision, reason, cause);
    this.#error = error;
    this.#state = 'lost';
    this.session.signal.removeEventListener('abort', this.#onSessionEnd);
    clearTimeout(this.#rewatchTimer);
    if (this.#watch !== undefined && !this.#watch.ended) void this.#watch.cancel().catch(() => undefined);
    this.#abort.abort(error);
    this.#resolveLost(error);
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) callListener(listener, error);
    if (reason === 'session-ended' || reason === 'key-deleted') this.#giveBackSlot();
    else if (reason === 'watch-failed') void this.deleteKey().catch(() => undefined);
  }

  /**
   * Gives the key up: reports `released` at once, then deletes the key if it is still this
   * incarnation (fenced on the create revision, so a stale or repeated release never deletes
   * a newer key), retrying transient failures. Every call sends its own fenced delete (cheap,
   * and harmless when repeated). Resolves `true` if it deleted the key, `false` if the key was
   * already gone or replaced. After a loss the delete is best effort (after a session loss the
   * lease takes the key anyway) and never rejects. The in-process slot is given back either way.
   */
  async release(timeoutMs?: number): Promise<boolean> {
    const reason = this.#error?.reason;
    if (reason === 'key-deleted') return false;
    this.lose('released');
    if (reason === 'session-ended') {
      const budget = Math.min(timeoutMs ?? afterSessionBudgetMs, afterSessionBudgetMs);
      return fencedDelete(this.client, this.keys.key, this.ownerCompare(), budget).catch(() => false);
    }
    if (reason === 'watch-failed') return this.deleteKey().catch(() => false);
    return fencedDelete(this.client, this.keys.key, this.ownerCompare(), timeoutMs).finally(() => this.#giveBackSlot());
  }

  /** The fenced delete of the key after a failed guard (once); gives the slot back when done. */
  deleteKey(): Promise<boolean> {
    this.#deleting ??= fencedDelete(this.client, this.keys.key, this.ownerCompare()).finally(() => this.#giveBackSlot());
    return this.#deleting;
  }

  /**
   * Watches the key for its deletion from `from` on. A watch that could not be created
   * because etcd was unreachable is created again (from the same revision, so nothing is
   * missed) while the session lives: if etcd stays unreachable, the session's own deadline
   * ends the ownership. Any other failure of the watch ends it (`watch-failed`).
   */
  #watchKey(from: bigint, failures: number): void {
    let watch: Watch;
    try {
      watch = this.client.watch(this.keys.key, { startRevision: from, filters: { noPut: true }, onCompacted: 'resync' });
    } catch (error) {
      this.lose('watch-failed', error);
      return;
    }
    this.#watch = watch;
    watch
      .on('delete', () => this.lose('key-deleted'))
      .on('resync', (item) => this.#resynced(item))
      .on('end', (reason) => {
        if (reason === undefined || this.#error !== undefined) return;
        if (!isTransient(reason) || failures >= maxRewatches) {
          this.lose('watch-failed', reason);
          return;
        }
        const next = watch.lastRevision > 0n ? watch.lastRevision + 1n : from;
        this.#rewatchTimer = setTimeout(() => {
          this.#rewatchTimer = undefined;
          if (this.#error === undefined) this.#watchKey(next, failures + 1);
        }, rewatchDelayMs);
      });
  }

  #resynced(item: WatchResync): void {
    const current = item.kvs.find((kv) => sameBytes(kv.key, this.keys.key));
    if (current === undefined || current.createRevision !== this.revision) this.lose('key-deleted');
  }

  #giveBackSlot(): void {
    const release = this.#releaseSlot;
    this.#releaseSlot = undefined;
    release?.();
  }
}

/**
 * Deletes `key` if `guard` holds, retrying transient failures (the txn is idempotent).
 * Resolves whether it deleted. Bounded: each attempt at most `cleanupAttemptMs`, all of them
 * within `timeoutMs` (default `cleanupBudgetMs`).
 */
export async function fencedDelete(client: Client, key: Uint8Array, guard: Compare, timeoutMs = cleanupBudgetMs): Promise<boolean> {
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(deadline(timeoutMs)), timeoutMs);
  try {
    const result = await retryIdempotent(
      (signal) =>
        client.kv
          .txn()
          .if(guard)
          .then(Op.delete(key))
          .commit({ signal, timeoutMs: Math.min(cleanupAttemptMs, timeoutMs) }),
      budget.signal,
    );
    return result.succeeded;
  } catch (error) {
    throw internalError(error, { idempotent: true });
  } finally {
    clearTimeout(timer);
  }
}

function deadline(timeoutMs: number): DeadlineExceededError {
  return new DeadlineExceededError({
    code: GrpcCode.DEADLINE_EXCEEDED,
    etcdMessage: `deleting the key: not done within ${timeoutMs} ms`,
    retryable: true,
  });
}

function callListener(listener: (error: OwnershipLostError) => void, error: OwnershipLostError): void {
  try {
    listener(error);
  } catch (thrown) {
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    process.emitWarning(`a 'lost' listener threw: ${text}`, { code: 'ETCDKIT_LISTENER' });
  }
}
