/**
 * The endpoint pool: one channel per endpoint, the choice of a channel for each call, and a
 * wait for "some endpoint ready" bounded by the dial timeout. Calls are only dispatched on
 * ready channels, so a call that fails while waiting here was provably never sent.
 *
 * Choice: round-robin over ready endpoints, best class first:
 *   1. healthy, not yet tried by this call (or not the endpoint to avoid);
 *   2. healthy, tried;
 *   3. set aside because it has no leader (it answers, and refuses at once what needs a
 *      leader), not tried;
 *   4. the same, tried;
 *   5. set aside for any other reason (it stopped answering, or its connection failed), not tried;
 *   6. the same, tried.
 * So set-aside endpoints get calls only when nothing healthy is connected, a retry goes to
 * another endpoint whenever there is one, and while a cluster elects a leader its calls go to
 * members that answer rather than to one that has gone silent.
 *
 * The endpoint set can change at run time ({@link EndpointPool.setEndpoints}, auto-sync);
 * a removed endpoint's streams are ended (their owners re-open elsewhere) and its channel
 * closes once its last call has ended.
 */
import { ClientClosedError, DeadlineExceededError, UnavailableError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Endpoint } from '../options.js';
import { EndpointChannel } from './channel.js';
import type { ChannelListener, ChannelSettings } from './channel.js';
import { markDialFailure } from './retry.js';

/** Why a wait for a ready endpoint ends without one. */
export type WaitEnd = 'dial-timeout' | 'deadline';

interface Waiter {
  readonly resolve: (channel: EndpointChannel) => void;
  readonly reject: (error: EtcdError) => void;
  readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Endpoints a pick should stay away from when it can: a set of channels, or one address. */
export type Avoid = ReadonlySet<EndpointChannel> | string | undefined;

/** 0 for a healthy endpoint, 2 for one set aside for lack of a leader, 4 for any other set-aside one. */
function setAsideRank(channel: EndpointChannel): number {
  const health = channel.health;
  if (!health.setAside) return 0;
  return health.reason === 'no-leader' ? 2 : 4;
}

/** Every endpoint's channel, and the round-robin cursor. */
export class EndpointPool {
  #channels: EndpointChannel[];
  /** Removed endpoints whose calls are still running. */
  readonly #retiring = new Set<EndpointChannel>();
  readonly #options: ChannelSettings;
  readonly #stateListeners = new Set<ChannelListener>();
  readonly #onChannelChange: ChannelListener = (channel, previous) => this.#onChange(channel, previous);
  #next = 0;
  #closed = false;
  readonly #waiters = new Set<Waiter>();

  constructor(endpoints: readonly Endpoint[], options: ChannelSettings) {
    this.#options = options;
    this.#channels = endpoints.map((endpoint) => this.#open(endpoint));
  }

  /** The current endpoints' channels, in configuration order. */
  get channels(): readonly EndpointChannel[] {
    return this.#channels;
  }

  /** The endpoints' addresses, for messages. */
  get addresses(): string {
    return this.#channels.map((c) => c.endpoint.address).join(', ');
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to every channel's connectivity changes (present and future channels). */
  onChannelChange(listener: ChannelListener): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** The next ready channel in round-robin order, best class first (see the module doc), or undefined. */
  pickReady(avoid?: Avoid): EndpointChannel | undefined {
    const channels = this.#channels;
    const n = channels.length;
    let best: EndpointChannel | undefined;
    let bestRank = 6;
    let bestIndex = 0;
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      const channel = channels[index]!;
      if (!channel.ready) continue;
      const rank = setAsideRank(channel) + (avoided(channel, avoid) ? 1 : 0);
      if (rank < bestRank) {
        best = channel;
        bestRank = rank;
        bestIndex = index;
        if (rank === 0) break;
      }
    }
    if (best !== undefined) this.#next = bestIndex + 1 === n ? 0 : bestIndex + 1;
    return best;
  }

  /** True when some ready, healthy endpoint other than `channel` exists. */
  hasHealthyAlternative(channel: EndpointChannel): boolean {
    for (const other of this.#channels) {
      if (other !== channel && other.ready && !other.health.setAside) return true;
    }
    return false;
  }

  /**
   * True when some ready endpoint other than `channel` still answers: healthy, or set aside
   * only because it has no leader (during an election it refuses leader-bound calls at once,
   * and serves them as soon as a leader is elected).
   */
  hasAnsweringAlternative(channel: EndpointChannel): boolean {
    for (const other of this.#channels) {
      if (other !== channel && other.ready && setAsideRank(other) < 4) return true;
    }
    return false;
  }

  /**
   * Waits until some endpoint is ready (connecting idle ones), for at most `waitMs`.
   * Rejects with UnavailableError naming every endpoint and why it failed when `end` is
   * `'dial-timeout'`, DeadlineExceededError when it is the call's `'deadline'`,
   * ClientClosedError on close. The caller handles its abort signal's rejection itself via
   * `abortError`.
   */
  waitForReady(
    waitMs: number,
    end: WaitEnd,
    signal: AbortSignal | undefined,
    abortError: () => EtcdError,
    avoid?: Avoid,
  ): Promise<EndpointChannel> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    for (const channel of this.#channels) channel.connect();
    const ready = this.pickReady(avoid);
    if (ready !== undefined) return Promise.resolve(ready);
    const since = Date.now();
    return new Promise<EndpointChannel>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        timer: setTimeout(() => {
          this.#drop(waiter);
          reject(end === 'deadline' ? this.#deadlineError(waitMs, since) : this.#dialError(waitMs, since));
        }, waitMs),
        onAbort: () => {
          this.#drop(waiter);
          reject(abortError());
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /**
   * Replaces the endpoint set: new endpoints get a channel, removed ones are retired (their
   * streams end with `removedError`, their channel closes when their calls have ended).
   * An empty list is ignored: the pool never loses its last endpoint. Returns true if
   * anything changed.
   */
  setEndpoints(endpoints: readonly Endpoint[], removedError: (channel: EndpointChannel) => EtcdError): boolean {
    if (this.#closed || endpoints.length === 0) return false;
    const current = new Map(this.#channels.map((c) => [c.endpoint.address, c]));
    const wanted = new Set(endpoints.map((e) => e.address));
    const next: EndpointChannel[] = [];
    let changed = false;
    for (const endpoint of endpoints) {
      if (next.some((c) => c.endpoint.address === endpoint.address)) continue;
      const existing = current.get(endpoint.address);
      if (existing !== undefined) next.push(existing);
      else {
        next.push(this.#open(endpoint));
        changed = true;
      }
    }
    for (const channel of this.#channels) {
      if (wanted.has(channel.endpoint.address)) continue;
      changed = true;
      this.#retire(channel, removedError(channel));
    }
    if (!changed) return false;
    this.#channels = next;
    this.#next = 0;
    if (this.#waiters.size > 0) {
      for (const channel of next) channel.connect();
      this.#wake();
    }
    return true;
  }

  /** Closes a retired channel once no call runs on it any more (called when a call ends). */
  releaseRetired(channel: EndpointChannel): void {
    if (!channel.retired || channel.health.attempts.size > 0) return;
    this.#retiring.delete(channel);
    channel.close();
  }

  /** Closes every channel and fails pending waits with ClientClosedError. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) {
      this.#drop(waiter);
      waiter.reject(new ClientClosedError());
    }
    for (const channel of this.#channels) channel.close();
    for (const channel of this.#retiring) channel.close();
    this.#retiring.clear();
    this.#stateListeners.clear();
  }

  #open(endpoint: Endpoint): EndpointChannel {
    const channel = new EndpointChannel(endpoint, this.#options);
    channel.onChange(this.#onChannelChange);
    return channel;
  }

  #retire(channel: EndpointChannel, error: EtcdError): void {
    channel.retire();
    for (const stream of [...channel.health.streams]) stream.abandon(error);
    if (channel.health.attempts.size === 0) channel.close();
    else this.#retiring.add(channel);
  }

  #onChange(channel: EndpointChannel, previous: Parameters<ChannelListener>[1]): void {
    if (channel.retired) return;
    for (const listener of this.#stateListeners) listener(channel, previous);
    if (this.#waiters.size === 0) return;
    // Someone is waiting: a channel that fell back to idle (after a failed attempt) reconnects.
    if (channel.idle) channel.connect();
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      const channel = this.pickReady();
      if (channel === undefined) return;
      this.#drop(waiter);
      waiter.resolve(channel);
    }
  }

  #drop(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  /** `a:1 (connection refused), b:2 (no answer within 2000 ms)`. */
  #describe(waitMs: number, since: number): string {
    return this.#channels.map((c) => `${c.endpoint.address} (${c.unreachableReason(since, waitMs)})`).join(', ');
  }

  #dialError(waitMs: number, since: number): UnavailableError {
    const text = `could not connect to any endpoint within ${waitMs} ms: ${this.#describe(waitMs, since)}`;
    return markDialFailure(new UnavailableError({ code: GrpcCode.UNAVAILABLE, etcdMessage: text, retryable: true }));
  }

  #deadlineError(waitMs: number, since: number): DeadlineExceededError {
    const text = `deadline of the call passed after ${waitMs} ms while waiting for a connection: ${this.#describe(waitMs, since)}`;
    return new DeadlineExceededError({ code: GrpcCode.DEADLINE_EXCEEDED, etcdMessage: text, retryable: true });
  }
}

function avoided(channel: EndpointChannel, avoid: Avoid): boolean {
  if (avoid === undefined) return false;
  if (typeof avoid === 'string') return channel.endpoint.address === avoid;
  return avoid.has(channel);
}
