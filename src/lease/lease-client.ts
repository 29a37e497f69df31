/**
 * The lease API (`client.lease`): the unary lease RPCs, keepAliveOnce, and leases that keep
 * themselves alive (`create`, `adopt`) over the client's KeepAliveManager.
 */
import type { Invoke } from '../balancer/invoke.js';
import type { OpenStreamOptions } from '../balancer/invoke.js';
import {
  toLeaseGrantResult,
  toLeaseKeepAliveResult,
  toLeaseLeasesResult,
  toLeaseRevokeResult,
  toLeaseTimeToLiveResult,
} from '../convert.js';
import {
  cancelledError,
  classifyStatus,
  ClientClosedError,
  DeadlineExceededError,
  EtcdError,
  internalError,
  LeaseNotFoundError,
} from '../errors.js';
import { etcdErrors, GrpcCode } from '../protocol/error-table.js';
import type { LeaseKeepAliveResponse } from '../protocol/messages.generated.js';
import { optionalFlag } from '../kv/args.js';
import type { Int64 } from '../kv/types.js';
import type { CallOptions } from '../options.js';
import { retryAfter, shouldRetry } from '../balancer/retry.js';
import { checkOptions, optionalMs, optionalSignal, toLeaseId, toTtl } from './args.js';
import type { LeaseLostError } from './errors.js';
import type { KeepAliveManager, KnownRenewal } from './keepalive-manager.js';
import type { OpenKeepAliveStream } from './keepalive-stream.js';
import { Lease } from './lease.js';
import type { LeaseBinding } from './lease.js';
import type {
  AdoptLeaseOptions,
  CreateLeaseOptions,
  LeaseGrantOptions,
  LeaseGrantResult,
  LeaseKeepAliveResult,
  LeaseLeasesResult,
  LeaseRevokeResult,
  LeaseTimeToLiveOptions,
  LeaseTimeToLiveResult,
} from './types.js';

/** What the lease API needs from the client. @internal */
export interface LeaseClientDeps {
  readonly rpc: Invoke;
  /** Opens LeaseKeepAlive streams (for keepAliveOnce). */
  readonly openStream: OpenKeepAliveStream;
  /** The client's keepalive manager (closed by the client). */
  readonly keeper: KeepAliveManager;
  /** The client's default call deadline. */
  readonly timeoutMs: number;
}

const keepAliveFacts = { idempotent: true } as const;

/** Each lease API's keepalive manager, for diagnostics and tests (not part of the public API). */
const keepers = new WeakMap<LeaseClient, KeepAliveManager>();

/** Keepalive diagnostics of a client's lease API. @internal */
export interface KeepAliveStats {
  /** LeaseKeepAlive streams opened so far by the shared keepalive manager. */
  readonly streamsOpened: number;
  /** Whether the shared keepalive stream is open now. */
  readonly streamOpen: boolean;
  /** How many lease IDs are being kept alive. */
  readonly kept: number;
}

/** Reads the keepalive diagnostics of `client.lease`. @internal */
export function keepAliveStats(leases: LeaseClient): KeepAliveStats {
  const keeper = keepers.get(leases);
  if (keeper === undefined) throw new Error('not a LeaseClient');
  return { streamsOpened: keeper.streamsOpened, streamOpen: keeper.streamOpen, kept: keeper.size };
}
const never = new AbortController().signal;

/**
 * Leases: grant, revoke, inspect, and keep alive. Every method rejects with an `EtcdError`
 * subclass; bad arguments reject with `InvalidArgumentError` before anything is sent.
 */
export class LeaseClient {
  readonly #rpc: Invoke;
  readonly #open: OpenKeepAliveStream;
  readonly #keeper: KeepAliveManager;
  readonly #timeoutMs: number;

  /** @internal Created by the client (`client.lease`). */
  constructor(deps: LeaseClientDeps) {
    this.#rpc = deps.rpc;
    this.#open = deps.openStream;
    this.#keeper = deps.keeper;
    this.#timeoutMs = deps.timeoutMs;
    keepers.set(this, deps.keeper);
  }

  /**
   * Grants a lease of `ttl` seconds (a positive integer; the server raises it to its minimum,
   * 2 s by default, and rejects more than 9,000,000,000 with `LeaseTtlTooLargeError`).
   * With `id`, a lease with that ID is granted (`LeaseExistsError` if it exists).
   * The lease is not kept alive: see {@link create}.
   */
  grant(ttl: Int64, options?: LeaseGrantOptions): Promise<LeaseGrantResult> {
    let request;
    try {
      checkOptions(options);
      request = {
        TTL: toTtl(ttl),
        ID: options?.id === undefined ? 0n : toLeaseId(options.id, 'options.id'),
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('Lease', 'LeaseGrant', request, options).then(toLeaseGrantResult);
  }

  /**
   * Revokes a lease: its keys are deleted (in one revision) and it is gone. Rejects with
   * `LeaseNotFoundError` if it does not exist. Leases of this client kept alive under that ID
   * are lost with reason `revoked`.
   */
  revoke(id: Int64, options?: CallOptions): Promise<LeaseRevokeResult> {
    let leaseId: bigint;
    try {
      leaseId = toLeaseId(id);
      checkOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    // Keepalives would see the revoke first (TTL 0) and report `expired`; pause them.
    const resume = this.#keeper.pause(leaseId);
    return this.#rpc.invoke('Lease', 'LeaseRevoke', { ID: leaseId }, options).then(
      (response) => {
        this.#keeper.lose(leaseId, 'revoked');
        resume();
        return toLeaseRevokeResult(response);
      },
      (error: unknown) => {
        resume();
        if (error instanceof LeaseNotFoundError) this.#keeper.lose(leaseId, 'expired', error);
        throw error;
      },
    );
  }

  /**
   * Remaining time of a lease. A lease that does not exist is not an error: its `ttl` is
   * `-1n`. With `keys: true`, lists the attached keys.
   */
  timeToLive(id: Int64, options?: LeaseTimeToLiveOptions): Promise<LeaseTimeToLiveResult> {
    let request;
    try {
      checkOptions(options);
      request = { ID: toLeaseId(id), keys: optionalFlag(options?.keys, 'options.keys') };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('Lease', 'LeaseTimeToLive', request, options).then(toLeaseTimeToLiveResult);
  }

  /** IDs of every lease on the cluster. */
  leases(options?: CallOptions): Promise<LeaseLeasesResult> {
    try {
      checkOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#rpc.invoke('Lease', 'LeaseLeases', {}, options).then(toLeaseLeasesResult);
  }

  /**
   * Renews a lease once (over a stream of its own). Rejects with `LeaseNotFoundError` when
   * the server answers TTL 0 (the lease does not exist), rather than returning `ttl: 0n`.
   * Retried on transient unavailability within the deadline.
   */
  keepAliveOnce(id: Int64, options?: CallOptions): Promise<LeaseKeepAliveResult> {
    let leaseId: bigint;
    let deadline: number;
    let signal: AbortSignal | undefined;
    try {
      leaseId = toLeaseId(id);
      checkOptions(options);
      signal = optionalSignal(options?.signal);
      deadline = Date.now() + (optionalMs(options?.timeoutMs, 'options.timeoutMs') ?? this.#timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted === true) return Promise.reject(cancelledError(signal.reason, keepAliveFacts, false));
    const attempt = () => this.#keepAliveOnce(leaseId, deadline, signal);
    return attempt()
      .catch((error: unknown) => {
        if (shouldRetry(error) && Date.now() < deadline) {
          return retryAfter(error as EtcdError, attempt, deadline, signal ?? never).catch((end: unknown) => {
            if (signal?.aborted === true) throw cancelledError(signal.reason, keepAliveFacts, true);
            throw end;
          });
        }
        throw error;
      })
      .then((response) => {
        if (response.TTL <= 0n) {
          const spec = etcdErrors.leaseNotFound;
          throw classifyStatus({ code: spec.code, details: spec.message }, keepAliveFacts);
        }
        return toLeaseKeepAliveResult(response);
      });
  }

  /**
   * Grants a lease of `ttl` seconds and keeps it alive until it is closed, revoked or lost.
   * See {@link Lease} for the guarantees.
   */
  async create(ttl: Int64, options?: CreateLeaseOptions): Promise<Lease> {
    checkOptions(options);
    const signal = optionalSignal(options?.signal);
    if (this.#keeper.closed) throw new ClientClosedError();
    const sentAt = Date.now();
    const granted = await this.grant(ttl, { id: options?.id, signal, timeoutMs: options?.timeoutMs });
    if (signal?.aborted === true) {
      // The caller gave up; do not leave the lease behind.
      this.revoke(granted.id).catch(() => {});
      throw cancelledError(signal.reason, keepAliveFacts, true);
    }
    const ttlMs = Number(granted.ttl) * 1000;
    const lease = new Lease(granted.id, granted.ttl, sentAt + ttlMs, this.#binding(granted.id, { ttlMs, renewedAt: sentAt }));
    this.#closeOnAbort(lease, signal);
    return lease;
  }

  /**
   * Keeps an existing lease alive (e.g. one granted by another process). Resolves once the
   * first keepalive answers, which tells its TTL; if the server answers TTL 0 (no such
   * lease), the returned lease is already lost with reason `expired`. Rejects with
   * `DeadlineExceededError` when no answer comes within `timeoutMs`.
   */
  adopt(id: Int64, options?: AdoptLeaseOptions): Promise<Lease> {
    let leaseId: bigint;
    let signal: AbortSignal | undefined;
    let waitMs: number;
    try {
      leaseId = toLeaseId(id);
      checkOptions(options);
      signal = optionalSignal(options?.signal);
      waitMs = optionalMs(options?.timeoutMs, 'options.timeoutMs') ?? this.#timeoutMs;
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted === true) return Promise.reject(cancelledError(signal.reason, keepAliveFacts, false));
    let lease: Lease;
    try {
      lease = new Lease(leaseId, 0n, Infinity, this.#binding(leaseId, undefined));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Lease>((resolve, reject) => {
      let settled = false;
      const settle = (error: EtcdError | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        lease.off('renewed', onRenewed);
        if (error !== undefined) {
          lease.close();
          reject(error);
          return;
        }
        this.#closeOnAbort(lease, signal);
        resolve(lease);
      };
      const onRenewed = (): void => settle(undefined);
      const onAbort = (): void => settle(cancelledError(signal?.reason, keepAliveFacts, true));
      const timer = setTimeout(() => {
        settle(
          new DeadlineExceededError({
            code: GrpcCode.DEADLINE_EXCEEDED,
            etcdMessage: `no keepalive answer for lease ${leaseId.toString(16)} within ${waitMs} ms`,
            retryable: true,
          }),
        );
      }, waitMs);
      lease.on('renewed', onRenewed);
      signal?.addEventListener('abort', onAbort, { once: true });
      void lease.lost.then((lost: LeaseLostError) => {
        if (lost.reason === 'expired') settle(undefined);
        else if (lost.reason === 'client-closed') settle(new ClientClosedError());
        else settle(lost);
      });
    });
  }

  #binding(id: bigint, known: KnownRenewal | undefined): LeaseBinding {
    return {
      keep: (sink) => this.#keeper.keep(id, sink, known),
      revoke: (options) => this.revoke(id, options),
    };
  }

  /** Once the lease exists, aborting the caller's signal closes it. */
  #closeOnAbort(lease: Lease, signal: AbortSignal | undefined): void {
    if (signal === undefined || !lease.alive) return;
    if (signal.aborted) {
      lease.close();
      return;
    }
    const onAbort = (): void => lease.close();
    signal.addEventListener('abort', onAbort, { once: true });
    void lease.lost.then(() => signal.removeEventListener('abort', onAbort));
  }

  /** One keepalive over a fresh stream, bounded by `deadline` and `signal`. */
  #keepAliveOnce(id: bigint, deadline: number, signal: AbortSignal | undefined): Promise<LeaseKeepAliveResponse> {
    return new Promise((resolve, reject) => {
      const stop = new AbortController();
      let done = false;
      const finish = (error: EtcdError | undefined, response?: LeaseKeepAliveResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        stop.abort();
        if (error !== undefined) reject(error);
        else resolve(response!);
      };
      const onAbort = (): void => finish(cancelledError(signal?.reason, keepAliveFacts, true));
      const timer = setTimeout(() => {
        finish(
          new DeadlineExceededError({
            code: GrpcCode.DEADLINE_EXCEEDED,
            etcdMessage: `no keepalive answer for lease ${id.toString(16)} before the deadline`,
            retryable: false,
          }),
        );
      }, Math.max(0, deadline - Date.now()));
      signal?.addEventListener('abort', onAbort, { once: true });
      const streamOptions: OpenStreamOptions = { signal: stop.signal };
      this.#open(streamOptions).then(
        (stream) => {
          if (done) {
            stream.cancel();
            return;
          }
          stream.listen({
            data: (response) => {
              finish(undefined, response);
              stream.cancel();
            },
            end: (error) => finish(error),
          });
          stream.write({ ID: id });
        },
        (error: unknown) => finish(error instanceof EtcdError ? error : internalError(error, keepAliveFacts)),
      );
    });
  }
}
