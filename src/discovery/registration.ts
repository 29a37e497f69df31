/**
 * Service registration: a key `<service>/<addr>` holding Go's endpoint JSON, bound to a lease
 * that is kept alive. When the lease is lost the registration is made again on a new lease,
 * with jittered backoff, until it succeeds or the registration is closed.
 */
import pRetry from 'p-retry';
import type { Client } from '../client.js';
import { CancelledError, ClientClosedError, EtcdError, internalError, LeaseNotFoundError } from '../errors.js';
import { checkClient } from '../cache/args.js';
import { Listeners } from '../cache/listeners.js';
import { checkOptions, optionalSignal } from '../lease/args.js';
import type { LeaseLostError } from '../lease/errors.js';
import type { Lease } from '../lease/lease.js';
import { GrpcCode } from '../protocol/error-table.js';
import { checkRetry, checkService, checkTtl, endpointValue } from './args.js';
import type { RetryBounds } from './args.js';
import type { EndpointInit, RegisterOptions, RegistrationEvents, RegistrationState } from './types.js';

/** Default registration TTL in seconds. */
export const defaultRegistrationTtl = 10;

/** Longest wait for the revoke that deregisters on close. */
const deregisterTimeoutMs = 5000;

const eventNames = ['lost', 'reregistered', 'error'] as const;
const noop = () => {};

interface RegistrationSpec {
  readonly client: Client;
  readonly service: string;
  readonly addr: string;
  readonly key: string;
  readonly value: string;
  readonly ttl: number;
  readonly retry: RetryBounds;
}

/**
 * A registered service instance, kept registered until {@link close}. Create it with
 * {@link register}.
 */
export class Registration {
  /** The service name. */
  readonly service: string;
  /** The registered address. */
  readonly addr: string;
  /** The key: `<service>/<addr>`. */
  readonly key: string;
  readonly #spec: RegistrationSpec;
  readonly #listeners = new Listeners<RegistrationEvents>(eventNames, 'registration');
  /** Aborted by close(): stops grants, puts and backoff in flight. */
  readonly #stop = new AbortController();
  /** Aborted when the registration ends (closed, or the client closed). */
  readonly #ended = new AbortController();
  #state: RegistrationState = 'reregistering';
  /** The newest lease (set before its key is written, so close() can revoke it). */
  #lease: Lease | undefined;
  #closing: Promise<void> | undefined;
  #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = () => void this.close();

  /** @internal Use {@link register}. */
  constructor(spec: RegistrationSpec) {
    this.#spec = spec;
    this.service = spec.service;
    this.addr = spec.addr;
    this.key = spec.key;
  }

  /** `registered`, `reregistering` or `closed`. */
  get state(): RegistrationState {
    return this.#state;
  }

  /** True while the key is written and its lease kept alive. */
  get registered(): boolean {
    return this.#state === 'registered';
  }

  /** ID of the newest lease (while re-registering, the one lost or being tried). */
  get leaseId(): bigint {
    return this.#lease?.id ?? 0n;
  }

  /** Aborted when the registration ends: `close()` (reason `CancelledError`) or `client.close()` (`ClientClosedError`). */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /**
   * Adds a listener (see {@link RegistrationEvents}); one that throws becomes a process warning.
   * @throws InvalidArgumentError for an unknown event name.
   */
  on<K extends keyof RegistrationEvents>(event: K, listener: RegistrationEvents[K]): this {
    this.#listeners.on(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof RegistrationEvents>(event: K, listener: RegistrationEvents[K]): this {
    this.#listeners.off(event, listener);
    return this;
  }

  /**
   * Deregisters at once: stops re-registering and revokes the lease, which deletes the key in
   * the same revision (a key someone else re-wrote on another lease is left alone). If the
   * revoke fails (an `error` event reports it), the lease is no longer renewed and the key
   * disappears within the TTL. Resolves once done; never rejects; idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** @internal Makes the first registration (register() awaits it). */
  async start(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) throw abortedError(signal.reason);
    const onAbort = () => this.#stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let lease: Lease;
    try {
      lease = await this.#attempt();
    } catch (error) {
      const aborted = this.#stop.signal.aborted;
      const lease = this.#lease;
      // Aborted during the put: it may have been applied, so revoke what it wrote.
      if (aborted && lease !== undefined) {
        await this.#spec.client.lease.revoke(lease.id, { timeoutMs: deregisterTimeoutMs }).catch(noop);
      }
      this.#finish(new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'the registration failed', retryable: false }));
      throw aborted && !(error instanceof ClientClosedError) ? abortedError(signal?.reason, error) : asEtcdError(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    this.#adopt(lease);
    if (signal !== undefined) {
      this.#userSignal = signal;
      signal.addEventListener('abort', this.#onUserAbort, { once: true });
    }
  }

  /** Grants a lease and writes the key on it; revokes the lease if the write fails. */
  async #attempt(): Promise<Lease> {
    const { client, key, value, ttl } = this.#spec;
    const stop = this.#stop.signal;
    const lease = await client.lease.create(ttl, { signal: stop });
    if (stop.aborted) {
      void client.lease.revoke(lease.id).catch(noop);
      throw abortedError(stop.reason);
    }
    this.#lease = lease;
    try {
      await client.kv.put(key, value, { lease: lease.id, signal: stop });
    } catch (error) {
      // Unless close() took over (it revokes #lease), do not leave the lease behind: stop
      // renewing it at once, and revoke it if etcd can be reached (else it expires).
      if (!stop.aborted) {
        lease.close();
        void client.lease.revoke(lease.id).catch(noop);
      }
      throw error;
    }
    if (!lease.alive) throw lease.lostError!;
    return lease;
  }

  /** The key is written on `lease`: follow its loss. */
  #adopt(lease: Lease): void {
    this.#state = 'registered';
    lease.on('lost', (error) => this.#onLost(lease, error));
  }

  #onLost(lease: Lease, error: LeaseLostError): void {
    if (lease !== this.#lease || this.#state === 'closed') return;
    if (error.reason === 'client-closed') {
      this.#finish(new ClientClosedError());
      return;
    }
    this.#state = 'reregistering';
    this.#listeners.emit('lost', error);
    void this.#reregister(error.leaseId);
  }

  async #reregister(previousLeaseId: bigint): Promise<void> {
    const { minDelayMs, maxDelayMs } = this.#spec.retry;
    let attempts = 0;
    let lease: Lease;
    try {
      lease = await pRetry(
        () => {
          attempts += 1;
          return this.#attempt();
        },
        {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: minDelayMs,
          maxTimeout: maxDelayMs,
          factor: 2,
          randomize: true,
          signal: this.#stop.signal,
          shouldRetry: ({ error }) => !(error instanceof ClientClosedError) && !this.#stop.signal.aborted,
          onFailedAttempt: ({ error }) => {
            if (!this.#stop.signal.aborted && !(error instanceof ClientClosedError)) this.#listeners.emit('error', asEtcdError(error));
          },
        },
      );
    } catch (error) {
      if (error instanceof ClientClosedError) this.#finish(error);
      return; // closed
    }
    if (this.#state === 'closed') return;
    this.#adopt(lease);
    this.#listeners.emit('reregistered', { leaseId: lease.id, previousLeaseId, attempts });
  }

  async #close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stop.abort();
    const lease = this.#lease;
    if (lease !== undefined) {
      try {
        await this.#spec.client.lease.revoke(lease.id, { timeoutMs: deregisterTimeoutMs });
      } catch (error) {
        if (!(error instanceof LeaseNotFoundError)) this.#listeners.emit('error', asEtcdError(error));
      }
      lease.close();
    }
    this.#finish(new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'the registration was closed', retryable: false }));
  }

  /** Ends the registration for good (idempotent). */
  #finish(reason: EtcdError): void {
    this.#state = 'closed';
    this.#stop.abort();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    this.#userSignal = undefined;
    this.#lease?.close();
    if (!this.#ended.signal.aborted) this.#ended.abort(reason);
    this.#listeners.clear();
  }
}

function asEtcdError(error: unknown): EtcdError {
  return error instanceof EtcdError ? error : internalError(error, { idempotent: false });
}

function abortedError(reason: unknown, cause: unknown = reason): CancelledError {
  return new CancelledError({
    code: GrpcCode.CANCELLED,
    etcdMessage: 'the registration was aborted',
    retryable: false,
    cause: cause ?? reason,
  });
}

/**
 * Registers `endpoint` under `service`: writes `<service>/<addr>` with Go's endpoint JSON
 * (`{"Op":0,"Addr":...,"Metadata":...}`) on a lease of `ttl` seconds that is kept alive, and
 * keeps it registered: after a lease loss it registers again on a new lease (events `lost`,
 * `reregistered`). Resolves once the key is written.
 *
 * ```ts
 * const registration = await register(client, 'services/api', { addr: '10.0.0.5:8080', metadata: { zone: 'a' } });
 * registration.on('lost', (e) => console.warn('registration lost, re-registering', e.reason));
 * // ... on shutdown:
 * await registration.close(); // the key is deleted at once
 * ```
 *
 * @throws InvalidArgumentError (before anything is written) for a bad argument or metadata
 * failing `metadataSchema`; the typed error of the lease grant or put if the first
 * registration fails (nothing is left behind); `CancelledError` when `signal` aborts first.
 */
export async function register<M = unknown>(
  client: Client,
  service: string,
  endpoint: EndpointInit<M>,
  options?: RegisterOptions<M>,
): Promise<Registration> {
  checkClient(client);
  checkService(service);
  checkOptions(options);
  const { addr, value } = endpointValue(endpoint, options?.metadataSchema);
  const ttl = checkTtl(options?.ttl, defaultRegistrationTtl);
  const retry = checkRetry(options?.retry);
  const signal = optionalSignal(options?.signal);
  const registration = new Registration({ client, service, addr, key: `${service}/${addr}`, value, ttl, retry });
  await registration.start(signal);
  return registration;
}
