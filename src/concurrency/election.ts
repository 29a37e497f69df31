/**
 * Leader election on a key prefix, interoperable with Go's `concurrency.Election` and
 * `etcdctl elect`: each candidate session puts `<prefix>/<lease hex>` = its value on its
 * lease; the oldest key (lowest create revision) is the leader; candidates queue in FIFO
 * order, each watching only its predecessor. A leader watches its own key and its session,
 * so it learns at once when its leadership ends.
 */
import { toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import type { Client } from '../client.js';
import type { KeyValue } from '../convert.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { toInt64 } from '../kv/args.js';
import { Op } from '../kv/txn.js';
import type { Compare } from '../kv/txn.js';
import type { Int64 } from '../kv/types.js';
import type { CallOptions } from '../options.js';
import { checkSession, optionalBoolean, parseOptions } from './args.js';
import { ElectionNoLeaderError, ElectionNotLeaderError, LeadershipLostError } from './errors.js';
import { firstCreate, recipeKeys, sameBytes } from './keys.js';
import type { RecipeKeys } from './keys.js';
import { takeSlot } from './local-slots.js';
import { ElectionObserver } from './observe.js';
import type { ObserveOptions } from './observe.js';
import type { OwnedKey } from './owned-key.js';
import { joinQueue } from './key-queue.js';
import type { Entry, QueueContext } from './key-queue.js';
import { retryIdempotent } from './retry.js';
import type { Session } from './session.js';
import { WaitScope } from './wait-scope.js';
import type { WaitOptions } from './wait-scope.js';

export { ElectionObserver };
export type { ObserveOptions };

/** Options of {@link Election.campaign} and {@link Election.resume}. */
export type CampaignOptions = WaitOptions;

/** Options of {@link Election.leader}. */
export interface LeaderOptions extends CallOptions {
  /** Reject with `ElectionNoLeaderError` instead of resolving `undefined` when there is no leader. */
  required?: boolean;
}

/** Events of an {@link Election}. */
export interface ElectionEvents {
  /** This candidate became the leader. */
  elected: (leadership: Leadership) => void;
  /** This candidate's leadership ended (reported at once; see {@link Leadership.signal}). */
  lost: (error: LeadershipLostError) => void;
}

type Listeners = { [E in keyof ElectionEvents]: Set<ElectionEvents[E]> };

/**
 * One session's candidacy in the election on `prefix`.
 *
 * ```ts
 * const election = new Election(session, 'service/leader');
 * const term = await election.campaign('10.0.0.5:8080');
 * term.signal.addEventListener('abort', () => stopLeading());
 * // ... lead; fence writes with term.leaderCompare()
 * await term.resign();
 * ```
 */
export class Election {
  /** The session the candidate key is attached to. */
  readonly session: Session;
  readonly #client: Client;
  readonly #keys: RecipeKeys;
  #leadership: Leadership | undefined;
  #campaigning = false;
  readonly #listeners: Listeners = { elected: new Set(), lost: new Set() };

  /** @throws InvalidArgumentError for a bad session or an empty prefix. */
  constructor(session: Session, prefix: Bytes) {
    this.session = checkSession(session);
    this.#client = session.client;
    this.#keys = recipeKeys(prefix, session.leaseId);
  }

  /**
   * Resumes a candidacy from a known key and create revision (Go's `ResumeElection`), e.g.
   * after a restart with a session resumed on the same lease (`createSession(client, {
   * leaseId })`). Resolves once that key leads (at once if it already does; otherwise it
   * waits like {@link campaign}).
   * @throws InvalidArgumentError when `leaderKey` is not this session's key on `prefix`.
   * @throws ElectionNotLeaderError (rejection) when the key no longer exists with `leaderRev`.
   */
  static async resume(session: Session, prefix: Bytes, leaderKey: Bytes, leaderRev: Int64, options?: CampaignOptions): Promise<Election> {
    const election = new Election(session, prefix);
    const key = toBytes(leaderKey, 'leaderKey');
    if (!sameBytes(key, election.key)) {
      throw new InvalidArgumentError('leaderKey', `expected this session's key ${JSON.stringify(election.keyText)}, got ${describeInput(leaderKey)}`);
    }
    const revision = toInt64(leaderRev, 'leaderRev', 1n);
    await election.#run({ kind: 'resume', revision }, options);
    return election;
  }

  /** The election's name (the prefix, as text). */
  get name(): string {
    return this.#keys.name;
  }

  /** This session's candidate key: `<prefix>/<lease hex>`. */
  get key(): Uint8Array {
    return this.#keys.key;
  }

  /** {@link key} as text. */
  get keyText(): string {
    return this.#keys.keyText;
  }

  /** The current term while this candidate leads, else `undefined`. */
  get leadership(): Leadership | undefined {
    return this.#leadership?.active === true ? this.#leadership : undefined;
  }

  /** True while this candidate leads (this process's knowledge, updated at once on loss). */
  get isLeader(): boolean {
    return this.leadership !== undefined;
  }

  /**
   * Runs for leader with `value` and resolves once elected. If this session already has a key
   * in the election, it keeps its place and its value is set to `value`.
   *
   * Rejects with `CancelledError` (signal), `DeadlineExceededError` (`timeoutMs`),
   * `SessionExpiredError` (the session ended, or its key was deleted by someone else while
   * waiting: `cause` tells which), or the etcd error that stopped it; its key is deleted again
   * in every case. Before resolving, it has confirmed with etcd that its key is the oldest
   * (so it never reports a leadership it does not hold). While leading already, it proclaims
   * `value` and resolves the current term. One campaign at a time per Election.
   */
  async campaign(value: Bytes, options?: CampaignOptions): Promise<Leadership> {
    const bytes = toBytes(value, 'value');
    const current = this.leadership;
    if (current !== undefined) {
      await current.proclaim(bytes, options);
      return current;
    }
    return this.#run({ kind: 'put', value: bytes, overwrite: true }, options);
  }

  /** Sets the leader's value without a new election. @throws ElectionNotLeaderError (rejection) when not leading. */
  async proclaim(value: Bytes, options?: CallOptions): Promise<void> {
    const current = this.leadership;
    if (current === undefined) throw new ElectionNotLeaderError(this.#keys.name);
    await current.proclaim(value, options);
  }

  /** Gives up the leadership, if held (see {@link Leadership.resign}); otherwise does nothing. */
  async resign(options?: Pick<CallOptions, 'timeoutMs'>): Promise<void> {
    await this.#leadership?.resign(options);
  }

  /**
   * The current leader's key-value (oldest key under the prefix), or `undefined` when there is
   * none; with `required: true`, rejects with `ElectionNoLeaderError` instead.
   */
  leader(options: LeaderOptions & { required: true }): Promise<KeyValue>;
  leader(options?: LeaderOptions): Promise<KeyValue | undefined>;
  async leader(options?: LeaderOptions): Promise<KeyValue | undefined> {
    const { signal, timeoutMs, required } = parseOptions(options, ['signal', 'timeoutMs', 'required']);
    const mustExist = optionalBoolean(required, 'options.required', false);
    const { kvs } = await this.#client.kv.get(this.#keys.prefix, { ...firstCreate, signal, timeoutMs });
    if (kvs[0] === undefined && mustExist) throw new ElectionNoLeaderError(this.#keys.name);
    return kvs[0];
  }

  /** Follows the leader: each new leader and each value it proclaims (see {@link ElectionObserver}). */
  observe(options?: ObserveOptions): ElectionObserver {
    return new ElectionObserver(this.#client, this.#keys.prefix.subarray(0, -1), options);
  }

  /** Adds a listener. Listener errors are reported as process warnings. */
  on<E extends keyof ElectionEvents>(event: E, listener: ElectionEvents[E]): this {
    this.#set(event).add(listener);
    return this;
  }

  /** Removes a listener. */
  off<E extends keyof ElectionEvents>(event: E, listener: ElectionEvents[E]): this {
    this.#set(event).delete(listener);
    return this;
  }

  async #run(entry: Entry, options: CampaignOptions | undefined): Promise<Leadership> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    if (this.#campaigning) throw new InvalidArgumentError('campaign', 'a campaign of this Election is already in progress');
    this.#campaigning = true;
    const scope = new WaitScope(`campaign ${JSON.stringify(this.#keys.name)}`, this.session, signal, timeoutMs);
    try {
      scope.check();
      const release = await takeSlot(this.session, this.#keys.keyText, scope.signal).catch((error: unknown) => {
        throw scope.explain(error);
      });
      const outcome = await joinQueue(this.#context(), entry, true, scope, release);
      return this.#elected(outcome.held!);
    } finally {
      this.#campaigning = false;
      scope.dispose();
    }
  }

  #context(): QueueContext {
    const keys = this.#keys;
    return {
      client: this.#client,
      session: this.session,
      keys,
      lostError: (revision, reason, cause) => new LeadershipLostError('leadership', keys.key, keys.keyText, revision, reason, cause),
    };
  }

  #elected(owned: OwnedKey): Leadership {
    const leadership = new Leadership(owned);
    this.#leadership = leadership;
    owned.onLost((error) => {
      if (this.#leadership === leadership) this.#leadership = undefined;
      this.#emit('lost', error as LeadershipLostError);
    });
    this.#emit('elected', leadership);
    return leadership;
  }

  #set<E extends keyof ElectionEvents>(event: E): Set<ElectionEvents[E]> {
    const set = Object.hasOwn(this.#listeners, event) ? (this.#listeners[event] as Set<ElectionEvents[E]>) : undefined;
    if (set === undefined) throw new InvalidArgumentError('event', `expected "elected" or "lost", got ${describeInput(event)}`);
    return set;
  }

  #emit<E extends keyof ElectionEvents>(event: E, arg: Parameters<ElectionEvents[E]>[0]): void {
    for (const listener of [...this.#listeners[event]]) {
      try {
        (listener as (value: typeof arg) => void)(arg);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        process.emitWarning(`an election '${event}' listener threw: ${text}`, { code: 'ETCDKIT_LISTENER' });
      }
    }
  }
}

/**
 * One term of leadership: its fencing token, a signal that fires the moment it ends, and
 * the leader-only operations, fenced on the leader key's create revision.
 */
export class Leadership {
  readonly #owned: OwnedKey;

  /** @internal Created by `Election.campaign()` / `resume()`. */
  constructor(owned: OwnedKey) {
    this.#owned = owned;
  }

  /** The leader key: `<prefix>/<lease hex>`. */
  get key(): Uint8Array {
    return this.#owned.keys.key;
  }

  /** {@link key} as text. */
  get keyText(): string {
    return this.#owned.keys.keyText;
  }

  /** The leader key's create revision: the fencing token of this term (later terms have larger ones). */
  get revision(): bigint {
    return this.#owned.revision;
  }

  /**
   * Aborted the moment the leadership ends: the session ended, the key was deleted by someone
   * else, the guard watch failed for good, or {@link resign}. Its `reason` is the
   * {@link LeadershipLostError}.
   */
  get signal(): AbortSignal {
    return this.#owned.signal;
  }

  /** Resolves with the LeadershipLostError when the term ends. Never rejects. */
  get lost(): Promise<LeadershipLostError> {
    return this.#owned.lost as Promise<LeadershipLostError>;
  }

  /** True until the term ends (this process's knowledge; see {@link isLeader}). */
  get active(): boolean {
    return this.#owned.state === 'held';
  }

  /** Calls `listener` once when the term ends (asynchronously if it already has). */
  on(event: 'lost', listener: (error: LeadershipLostError) => void): this {
    checkEvent(event);
    this.#owned.onLost(listener as (error: unknown) => void);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off(event: 'lost', listener: (error: LeadershipLostError) => void): this {
    checkEvent(event);
    this.#owned.offLost(listener as (error: unknown) => void);
    return this;
  }

  /** A compare that holds only during this term (the leader key exists with its create revision): fence your writes with it. */
  leaderCompare(): Compare {
    return this.#owned.ownerCompare();
  }

  /** Asks etcd whether this term still holds (the leader key exists with its create revision). */
  async isLeader(options?: CallOptions): Promise<boolean> {
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const { kvs } = await this.#owned.client.kv.get(this.key, { keysOnly: true, signal, timeoutMs });
    return kvs[0]?.createRevision === this.revision;
  }

  /**
   * Sets the leader's value (observers see it), only if this term still holds (fenced on the
   * create revision). Transient failures are retried.
   * @throws ElectionNotLeaderError (rejection) when the term has ended; the term is then lost.
   */
  async proclaim(value: Bytes, options?: CallOptions): Promise<void> {
    const bytes = toBytes(value, 'value');
    const { signal, timeoutMs } = parseOptions(options, ['signal', 'timeoutMs']);
    const owned = this.#owned;
    const name = owned.keys.name;
    if (owned.state !== 'held') throw new ElectionNotLeaderError(name, 'the leadership has ended', owned.lostError);
    const scope = new WaitScope(`proclaim ${JSON.stringify(name)}`, owned.session, signal, timeoutMs);
    try {
      const result = await retryIdempotent(
        (attempt) =>
          owned.client.kv
            .txn()
            .if(owned.ownerCompare())
            .then(Op.put(owned.keys.key, bytes, { lease: owned.session.leaseId }))
            .commit({ signal: attempt }),
        scope.signal,
      );
      if (!result.succeeded) {
        owned.lose('key-deleted');
        throw new ElectionNotLeaderError(name, 'the leader key no longer exists', owned.lostError);
      }
    } catch (error) {
      throw scope.explain(error);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Ends the term: `signal` fires at once, then the leader key is deleted only if it is still
   * this term's (fenced), so a late resign never removes a newer leader. Transient failures are
   * retried; rejects with the etcd error if the key could not be deleted (it then goes when the
   * session ends). Resolves at once if the term already ended. Idempotent.
   */
  async resign(options?: Pick<CallOptions, 'timeoutMs'>): Promise<void> {
    const { timeoutMs } = parseOptions(options, ['timeoutMs']);
    await this.#owned.release(timeoutMs);
  }
}

function checkEvent(event: unknown): void {
  if (event !== 'lost') throw new InvalidArgumentError('event', `expected "lost", got ${describeInput(event)}`);
}
