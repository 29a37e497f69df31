/**
 * A lease kept alive by the client: its state (alive -> lost, once), its signal, promise and
 * events. Renewal itself is the KeepAliveManager's job; this object only reports it.
 */
import type { CallOptions } from '../options.js';
import { describeInput, InvalidArgumentError, LeaseNotFoundError } from '../errors.js';
import { LeaseLostError } from './errors.js';
import type { LeaseLostReason } from './errors.js';
import type { KeepHandle, LeaseSink } from './keepalive-manager.js';

/** A successful renewal, as the `renewed` event reports it. */
export interface LeaseRenewal {
  /** The TTL the server granted again, in seconds. */
  ttl: bigint;
  /** When the lease expires unless renewed again (ms timestamp, like `Date.now()`). */
  deadline: number;
}

/** Events of a {@link Lease}. */
export interface LeaseEvents {
  /** The lease is lost (reported once). */
  lost: (error: LeaseLostError) => void;
  /** A keepalive succeeded. */
  renewed: (renewal: LeaseRenewal) => void;
}

/** What a Lease needs from the client. @internal */
export interface LeaseBinding {
  /** Starts renewing for `sink`. */
  keep(sink: LeaseSink): KeepHandle;
  /** Revokes the lease on the server (reports `revoked` to every keeper on success). */
  revoke(options: CallOptions | undefined): Promise<unknown>;
}

type Listeners = { [E in keyof LeaseEvents]: Set<LeaseEvents[E]> };

/**
 * A lease that keeps itself alive (`client.lease.create()` / `client.lease.adopt()`).
 *
 * It is renewed over the client's shared keepalive stream until it is lost, which is
 * reported exactly once through {@link signal} (aborted with the {@link LeaseLostError}),
 * {@link lost} (resolves with it) and the `lost` event. Call {@link close} or
 * {@link revoke} when done; `client.close()` ends it too.
 */
export class Lease {
  /** The lease ID. */
  readonly id: bigint;
  /** Aborted when the lease is lost; its `reason` is the {@link LeaseLostError}. */
  readonly signal: AbortSignal;
  /** Resolves with the {@link LeaseLostError} when the lease is lost. Never rejects. */
  readonly lost: Promise<LeaseLostError>;
  #ttl: bigint;
  #deadline: number;
  #error: LeaseLostError | undefined;
  readonly #abort = new AbortController();
  #resolveLost!: (error: LeaseLostError) => void;
  readonly #listeners: Listeners = { lost: new Set(), renewed: new Set() };
  readonly #binding: LeaseBinding;
  #handle: KeepHandle | undefined;
  #revoking: Promise<void> | undefined;

  /** @internal Created by `client.lease.create()` / `adopt()`. */
  constructor(id: bigint, ttl: bigint, deadline: number, binding: LeaseBinding) {
    this.id = id;
    this.#ttl = ttl;
    this.#deadline = deadline;
    this.#binding = binding;
    this.signal = this.#abort.signal;
    this.lost = new Promise((resolve) => {
      this.#resolveLost = resolve;
    });
    this.#handle = binding.keep({
      renewed: (newTtl, newDeadline) => this.#renewed(newTtl, newDeadline),
      lost: (reason, cause) => this.#lose(reason, cause),
    });
  }

  /** The TTL in seconds the server returned last (grant or keepalive). */
  get ttl(): bigint {
    return this.#ttl;
  }

  /**
   * When the lease expires unless renewed (ms timestamp): last successful renewal plus TTL.
   * If no renewal succeeds by then, the lease is lost with reason `deadline` at that moment.
   */
  get deadline(): number {
    return this.#deadline;
  }

  /** The loss, once the lease is lost. */
  get lostError(): LeaseLostError | undefined {
    return this.#error;
  }

  /** True while the lease is being kept alive. */
  get alive(): boolean {
    return this.#error === undefined;
  }

  /**
   * Adds a listener. A `lost` listener added after the loss is called (asynchronously) with
   * it. Listener errors are reported as process warnings, never thrown.
   * @throws InvalidArgumentError for an unknown event name.
   */
  on<E extends keyof LeaseEvents>(event: E, listener: LeaseEvents[E]): this {
    const set = this.#listeners[event] as Set<LeaseEvents[E]> | undefined;
    if (set === undefined) throw new InvalidArgumentError('event', `expected "lost" or "renewed", got ${describeInput(event)}`);
    set.add(listener);
    const error = this.#error;
    if (event === 'lost' && error !== undefined) {
      queueMicrotask(() => {
        if (set.delete(listener)) this.#call('lost', listener as LeaseEvents['lost'], error);
      });
    }
    return this;
  }

  /** Removes a listener. */
  off<E extends keyof LeaseEvents>(event: E, listener: LeaseEvents[E]): this {
    (this.#listeners[event] as Set<LeaseEvents[E]> | undefined)?.delete(listener);
    return this;
  }

  /**
   * Revokes the lease: its keys are deleted and it is lost with reason `revoked`. Renewals
   * pause while the revoke is in flight; if it fails (it rejects with the EtcdError), they
   * resume and the lease stays alive. A lease the server no longer knows is lost with
   * `expired` and the call resolves. Idempotent once it succeeded.
   */
  revoke(options?: CallOptions): Promise<void> {
    if (this.#error?.reason === 'revoked') return Promise.resolve();
    if (this.#revoking !== undefined) return this.#revoking;
    const revoking = this.#binding.revoke(options).then(
      () => {
        this.#revoking = undefined;
        this.#lose('revoked', undefined);
      },
      (error: unknown) => {
        this.#revoking = undefined;
        if (error instanceof LeaseNotFoundError) {
          this.#lose('expired', error);
          return;
        }
        throw error;
      },
    );
    this.#revoking = revoking;
    return revoking;
  }

  /** Stops renewing without revoking (the lease then expires on the server); reason `closed`. Idempotent. */
  close(): void {
    this.#lose('closed', undefined);
  }

  #renewed(ttl: bigint, deadline: number): void {
    if (this.#error !== undefined) return;
    this.#ttl = ttl;
    this.#deadline = deadline;
    const listeners = this.#listeners.renewed;
    if (listeners.size === 0) return;
    const renewal: LeaseRenewal = { ttl, deadline };
    for (const listener of [...listeners]) this.#call('renewed', listener, renewal);
  }

  #lose(reason: LeaseLostReason, cause: unknown): void {
    if (this.#error !== undefined) return;
    const error = new LeaseLostError(this.id, reason, cause);
    this.#error = error;
    const handle = this.#handle;
    this.#handle = undefined;
    handle?.stop();
    this.#abort.abort(error);
    this.#resolveLost(error);
    const listeners = [...this.#listeners.lost];
    this.#listeners.lost.clear();
    this.#listeners.renewed.clear();
    for (const listener of listeners) this.#call('lost', listener, error);
  }

  #call<E extends keyof LeaseEvents>(event: E, listener: LeaseEvents[E], arg: Parameters<LeaseEvents[E]>[0]): void {
    try {
      (listener as (value: typeof arg) => void)(arg);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      process.emitWarning(`a lease '${event}' listener threw: ${text}`, { code: 'ETCDKIT_LISTENER' });
    }
  }
}
