/**
 * A Session: one lease kept alive on behalf of a process, which locks, elections and service
 * registrations attach their keys to. It ends when its lease is lost (or when it is closed),
 * and says so through `signal` and `done`.
 */
import type { Client } from '../client.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkOptions, optionalSignal, toLeaseId } from '../lease/args.js';
import type { LeaseLostReason } from '../lease/errors.js';
import type { Lease } from '../lease/lease.js';

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** TTL of the session's lease in seconds (a positive integer). Default 60. */
  ttl?: number;
  /** Use this existing lease instead of granting one (it is adopted and kept alive). */
  leaseId?: bigint;
  /**
   * Aborts creating the session; once it exists, aborting ends it like {@link Session.orphan}
   * (renewals stop, the lease is not revoked).
   */
  signal?: AbortSignal;
}

/** Default session TTL in seconds (clientv3's). */
export const defaultSessionTtl = 60;

/** A lease kept alive for as long as the session lives. */
export class Session {
  /** The client the session was created with (recipes run their calls through it). */
  readonly client: Client;
  /** The session's lease. */
  readonly lease: Lease;
  /** Resolves with the reason once the session has ended (its lease is lost). Never rejects. */
  readonly done: Promise<LeaseLostReason>;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link createSession}. */
  constructor(client: Client, lease: Lease) {
    this.client = client;
    this.lease = lease;
    this.done = lease.lost.then((error) => error.reason);
  }

  /** The ID of the session's lease (attach keys to it with `put(key, value, { lease })`). */
  get leaseId(): bigint {
    return this.lease.id;
  }

  /** Aborted when the session ends; its reason is the lease's `LeaseLostError`. */
  get signal(): AbortSignal {
    return this.lease.signal;
  }

  /** True until the session has ended. */
  get alive(): boolean {
    return this.lease.alive;
  }

  /**
   * Ends the session: stops renewing and revokes the lease, deleting its keys. Best effort
   * and bounded: the revoke waits at most until the lease would expire anyway; if it fails
   * the lease is just left to expire (reason `closed`). Never rejects; idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Ends the session without revoking: renewals stop and the lease expires on its own (reason `closed`). */
  orphan(): void {
    this.lease.close();
  }

  async #close(): Promise<void> {
    const lease = this.lease;
    if (!lease.alive) return;
    const remainingMs = Math.floor(lease.deadline - Date.now());
    if (remainingMs >= 1) {
      try {
        await lease.revoke({ timeoutMs: Math.min(remainingMs, 2_147_483_647) });
      } catch {
        // Best effort: the lease expires on the server within its TTL anyway.
      }
    }
    lease.close();
  }
}

/**
 * Creates a session: grants a lease of `ttl` seconds (or adopts `leaseId`) and keeps it alive.
 *
 * ```ts
 * const session = await createSession(client, { ttl: 10 });
 * await client.kv.put('service/a', 'up', { lease: session.leaseId });
 * session.signal.addEventListener('abort', () => console.log('session ended', session.signal.reason));
 * await session.close(); // revokes: service/a is deleted
 * ```
 *
 * @throws InvalidArgumentError for bad options; the lease API's errors otherwise.
 */
export async function createSession(client: Client, options?: SessionOptions): Promise<Session> {
  checkOptions(options);
  const ttl = options?.ttl ?? defaultSessionTtl;
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1) {
    throw new InvalidArgumentError('options.ttl', `expected a positive integer number of seconds, got ${describeInput(ttl)}`);
  }
  const signal = optionalSignal(options?.signal);
  const lease =
    options?.leaseId === undefined
      ? await client.lease.create(ttl, { signal })
      : await client.lease.adopt(toLeaseId(options.leaseId, 'options.leaseId'), { signal });
  return new Session(client, lease);
}
