/**
 * A distributed lock on a key prefix, interoperable with Go's `concurrency.Mutex` and
 * `etcdctl lock`: each session queues one key `<prefix>/<lease hex>` (empty value, on the
 * session's lease); the oldest key (lowest create revision) holds the lock; waiters are served
 * in FIFO order, each watching only its predecessor.
 */
import type { Bytes } from '../bytes.js';
import { Client } from '../client.js';
import type { KeyValue } from '../convert.js';
import type { Compare } from '../kv/txn.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import type { CallOptions } from '../options.js';
import { checkSession, optionalBoolean, parseOptions } from './args.js';
import { LockedError, LockLostError } from './errors.js';
import { firstCreate, recipeKeys } from './keys.js';
import type { RecipeKeys } from './keys.js';
import { takeSlot, trySlot } from './local-slots.js';
import type { OwnedKey } from './owned-key.js';
import { joinQueue } from './key-queue.js';
import type { QueueContext } from './key-queue.js';
import { createSession } from './session.js';
import type { Session } from './session.js';
import { WaitScope } from './wait-scope.js';
import type { WaitOptions } from './wait-scope.js';

/** Options of {@link Mutex.lock}. */
export type LockOptions = WaitOptions;

/** Options of {@link Mutex.tryLock}: bounds on its calls (it never waits for the lock). */
export type TryLockOptions = WaitOptions;

/** Options of {@link withLock}. */
export interface WithLockOptions extends WaitOptions {
  /** `false`: do not wait; reject with `LockedError` when the lock is held. Default `true`. */
  wait?: boolean;
  /**
   * When given a Client: TTL in seconds of the session created for this call (default: the
   * session default, 60). A crashed holder blocks others for at most this long.
   */
  ttl?: number;
}

/**
 * A lock on `prefix` for one session.
 *
 * ```ts
 * const session = await createSession(client, { ttl: 10 });
 * const mutex = new Mutex(session, 'locks/report');
 * const lock = await mutex.lock({ timeoutMs: 30_000 });
 * try {
 *   await client.kv.txn().if(lock.ownerCompare()).then(Op.put('report/state', 'done')).commit();
 * } finally {
 *   await lock.unlock();
 * }
 * ```
 *
 * One session holds one key per prefix, so calls of the same session on the same prefix
 * (through this Mutex or another) are also mutually exclusive: they queue in this process.
 */
export class Mutex {
  /** The session the lock's key is attached to. */
  readonly session: Session;
  readonly #client: Client;
  readonly #keys: RecipeKeys;
  #current: HeldLock | undefined;

  /** @throws InvalidArgumentError for a bad session or an empty prefix. */
  constructor(session: Session, prefix: Bytes) {
    this.session = checkSession(session);
    this.#client = session.client;
    this.#keys = recipeKeys(prefix, session.leaseId);
  }

  /** The lock's name (the prefix, as text). */
  get name(): string {
    return this.#keys.name;
  }

  /** This session's key for the lock: `<prefix>/<lease hex>`. */
  get key(): Uint8Array {
    return this.#keys.key;
  }

  /** {@link key} as text. */
  get keyText(): string {
    return this.#keys.keyText;
  }

  /** The lock this Mutex holds now, if any. */
  get held(): HeldLock | undefined {
    return this.#current?.held === true ? this.#current : undefined;
  }

  /**
   * Waits until the lock is held; waiters are served in the order they queued.
   *
   * Rejects with `CancelledError` when `signal` aborts, `DeadlineExceededError` after
   * `timeoutMs`, `SessionExpiredError` when the session ends or its queued key is deleted by
   * someone else (`cause` tells which), or the etcd error that stopped it. In every case its
   * queued key is deleted again before it rejects (if etcd is unreachable, the deletion goes
   * on in the background for a few seconds; the session's lease removes the key at the
   * latest). Before resolving, it has confirmed with etcd that its key is the oldest.
   */
  async lock(options?: LockOptions): Promise<HeldLock> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const scope = new WaitScope(`lock ${JSON.stringify(this.#keys.name)}`, this.session, signal, timeoutMs);
    try {
      scope.check();
      const release = await takeSlot(this.session, this.keyText, scope.signal).catch((error: unknown) => {
        throw scope.explain(error);
      });
      const outcome = await joinQueue(this.#context(), { kind: 'put', value: empty, overwrite: false }, true, scope, release);
      return this.#adopt(outcome.held!);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Takes the lock only if it is free: resolves the held lock, or `undefined` at once when
   * another session (or another holder in this process on the same session) has it. Its
   * queued key is deleted again in that case.
   */
  async tryLock(options?: TryLockOptions): Promise<HeldLock | undefined> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const scope = new WaitScope(`lock ${JSON.stringify(this.#keys.name)}`, this.session, signal, timeoutMs);
    try {
      scope.check();
      const release = trySlot(this.session, this.keyText);
      if (release === undefined) return undefined;
      const outcome = await joinQueue(this.#context(), { kind: 'put', value: empty, overwrite: false }, false, scope, release);
      return outcome.held === undefined ? undefined : this.#adopt(outcome.held);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Like {@link tryLock}, but rejects with `LockedError` (naming the holder) instead of
   * resolving `undefined`.
   */
  async lockNow(options?: TryLockOptions): Promise<HeldLock> {
    const held = await this.tryLock(options);
    if (held !== undefined) return held;
    const owner = await this.owner(options).catch(() => undefined);
    throw new LockedError(this.#keys.name, owner?.key, owner?.keyText, owner?.createRevision);
  }

  /** Releases the lock this Mutex holds, if any (see {@link HeldLock.unlock}). */
  async unlock(options?: Pick<CallOptions, 'timeoutMs'>): Promise<void> {
    await this.#current?.unlock(options);
  }

  /** The key holding the lock now (the oldest under the prefix), or `undefined` when it is free. */
  async owner(options?: CallOptions): Promise<KeyValue | undefined> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const { kvs } = await this.#client.kv.get(this.#keys.prefix, { ...firstCreate, keysOnly: true, signal, timeoutMs });
    return kvs[0];
  }

  #context(): QueueContext {
    const keys = this.#keys;
    return {
      client: this.#client,
      session: this.session,
      keys,
      lostError: (revision, reason, cause) => new LockLostError('lock', keys.key, keys.keyText, revision, reason, cause),
    };
  }

  #adopt(owned: OwnedKey): HeldLock {
    const held = new HeldLock(owned);
    this.#current = held;
    return held;
  }
}

const empty = new Uint8Array(0);

/**
 * A held lock: its fencing token, a signal that fires the moment it is no longer held, and
 * the fenced release.
 */
export class HeldLock {
  readonly #owned: OwnedKey;

  /** @internal Created by `Mutex.lock()` / `tryLock()`. */
  constructor(owned: OwnedKey) {
    this.#owned = owned;
  }

  /** The lock's key: `<prefix>/<lease hex>`. */
  get key(): Uint8Array {
    return this.#owned.keys.key;
  }

  /** {@link key} as text. */
  get keyText(): string {
    return this.#owned.keys.keyText;
  }

  /**
   * The fencing token: the create revision of the lock's key. Every later acquisition of the
   * lock, by anyone, has a larger token. Pass it to the systems you write to, or guard etcd
   * writes with {@link ownerCompare}.
   */
  get fencingToken(): bigint {
    return this.#owned.revision;
  }

  /**
   * Aborted the moment the lock is no longer held: the session ended, the key was deleted by
   * someone else, the guard watch failed for good, or {@link unlock} was called. Its `reason`
   * is the {@link LockLostError} (with `reason` telling which).
   */
  get signal(): AbortSignal {
    return this.#owned.signal;
  }

  /** Resolves with the LockLostError when the lock is no longer held. Never rejects. */
  get lost(): Promise<LockLostError> {
    return this.#owned.lost as Promise<LockLostError>;
  }

  /** True until the lock is lost or released (this process's knowledge; see {@link isOwner}). */
  get held(): boolean {
    return this.#owned.state === 'held';
  }

  /** Calls `listener` once when the lock is no longer held (asynchronously if it already is not). */
  on(event: 'lost', listener: (error: LockLostError) => void): this {
    checkEvent(event);
    this.#owned.onLost(listener as (error: unknown) => void);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off(event: 'lost', listener: (error: LockLostError) => void): this {
    checkEvent(event);
    this.#owned.offLost(listener as (error: unknown) => void);
    return this;
  }

  /**
   * A compare that holds only while this acquisition holds the lock (Go's `IsOwner()`): the
   * key exists with this create revision. Add it to your own transactions to fence them.
   */
  ownerCompare(): Compare {
    return this.#owned.ownerCompare();
  }

  /** Alias of {@link ownerCompare} (Go's name). */
  isOwnerCompare(): Compare {
    return this.ownerCompare();
  }

  /** Asks etcd whether this acquisition still holds the lock (its key exists with its create revision). */
  async isOwner(options?: CallOptions): Promise<boolean> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const { kvs } = await this.#owned.client.kv.get(this.key, { keysOnly: true, signal, timeoutMs });
    return kvs[0]?.createRevision === this.fencingToken;
  }

  /**
   * Releases the lock: `signal` fires at once, then the key is deleted only if it is still
   * this acquisition's (fenced on the create revision), so a late or repeated unlock never
   * releases a newer holder. Transient failures are retried. Resolves once done (also when
   * the lock was already lost); rejects with the etcd error if the key could not be deleted
   * (it is then released when the session ends). Idempotent.
   */
  async unlock(options?: Pick<CallOptions, 'timeoutMs'>): Promise<void> {
    const { timeoutMs } = parseOptions(options, ['timeoutMs']);
    await this.#owned.release(timeoutMs);
  }
}

function checkEvent(event: unknown): void {
  if (event !== 'lost') throw new InvalidArgumentError('event', `expected "lost", got ${describeInput(event)}`);
}

/**
 * Runs `fn` while holding the lock on `prefix`, and releases it whatever happens.
 *
 * `fn` receives a signal, aborted the moment the lock is lost (or when `options.signal`
 * aborts): stop working then; and the {@link HeldLock} (for its fencing token and
 * `ownerCompare()`). `timeoutMs` bounds the wait for the lock, not `fn`. Given a Client,
 * `withLock` creates a session for the call and closes it afterwards.
 *
 * Resolves with `fn`'s result. Rejects with `fn`'s error; with the {@link LockLostError} if
 * the lock was lost before `fn` settled (its work may have overlapped with the next holder's,
 * unless every write was fenced); or with the error of waiting for the lock (see
 * {@link Mutex.lock}; with `wait: false`, `LockedError`).
 *
 * ```ts
 * const report = await withLock(client, 'locks/report', async (signal, lock) => {
 *   const data = await build({ signal });
 *   await client.kv.txn().if(lock.ownerCompare()).then(Op.put('report', data)).commit();
 *   return data;
 * }, { timeoutMs: 60_000, ttl: 10 });
 * ```
 */
export async function withLock<T>(
  target: Session | Client,
  prefix: Bytes,
  fn: (signal: AbortSignal, lock: HeldLock) => T | Promise<T>,
  options?: WithLockOptions,
): Promise<T> {
  const { signal, timeoutMs, wait, ttl } = parseOptions(options, ['signal', 'timeoutMs', 'wait', 'ttl']);
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', `expected a function, got ${describeInput(fn)}`);
  const waits = optionalBoolean(wait, 'options.wait', true);
  if (!(target instanceof Client)) {
    if (ttl !== undefined) throw new InvalidArgumentError('options.ttl', 'applies only when withLock is given a Client');
    return holding(new Mutex(target, prefix), fn, waits, signal, timeoutMs);
  }
  recipeKeys(prefix, 0n); // check the prefix before creating a session
  const session = await createSession(target, { ttl: ttl as number | undefined, signal });
  try {
    return await holding(new Mutex(session, prefix), fn, waits, signal, timeoutMs);
  } finally {
    await session.close();
  }
}

async function holding<T>(
  mutex: Mutex,
  fn: (signal: AbortSignal, lock: HeldLock) => T | Promise<T>,
  wait: boolean,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<T> {
  const lock = wait ? await mutex.lock({ signal, timeoutMs }) : await mutex.lockNow({ signal, timeoutMs });
  // fn stops when the lock is lost, and also when the caller aborts withLock itself.
  const fnSignal = signal === undefined ? lock.signal : AbortSignal.any([lock.signal, signal]);
  let result: T;
  try {
    result = await fn(fnSignal, lock);
  } catch (error) {
    await lock.unlock().catch(() => undefined);
    throw error;
  }
  const lost = lock.signal.aborted ? (lock.signal.reason as LockLostError) : undefined;
  await lock.unlock();
  // Lost while fn ran (not released by fn itself): its work may have overlapped another holder's.
  if (lost !== undefined && lost.reason !== 'released') throw lost;
  return result;
}
