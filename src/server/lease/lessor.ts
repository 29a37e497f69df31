import type { Clock } from '../clock.js';
import { etcdError } from '../errors.js';
import { keyString } from '../mvcc/key-span.js';
import type { LeaseAttachments, LeaseMove } from '../mvcc/lease-hook.js';
import type { MvccStore } from '../mvcc/store.js';
import { ExpiryQueue } from './expiry-queue.js';
import { ExpiryTimer } from './expiry-timer.js';
import { Lease, NEVER } from './lease.js';
import { LeaseIdGenerator } from './lease-id.js';

/** The largest TTL a lease may ask for, in seconds (etcd's MaxLeaseTTL). */
export const MAX_LEASE_TTL = 9000000000n;
/** etcd's minimum TTL with default timing: ceil(1.5 x 1 s election timeout). */
export const DEFAULT_MIN_LEASE_TTL = 2;
/** At most this many expired leases are revoked per pass (etcd: half its 1000/s revoke rate). */
export const REVOKES_PER_PASS = 500;
/** Delay between passes while expired leases are left over (etcd's 500 ms scan). */
export const EXPIRY_PASS_INTERVAL_MS = 500;
/** When revoking an expired lease failed, look at it again after this long (etcd: 3 s). */
export const EXPIRED_RETRY_MS = 3000;
/** etcd's default election timeout: a new leader extends every lease by this much. */
export const ELECTION_TIMEOUT_MS = 1000;

export interface LessorOptions {
  readonly store: MvccStore;
  readonly clock: Clock;
  /** Seeds generated lease ids (etcd puts member-id bits in them). */
  readonly memberId: bigint;
  /** Minimum lease TTL in seconds; shorter requests are raised to it. Default 2. */
  readonly minTtl?: number;
  /** Counts applied proposals: grants and revokes (explicit or on expiry) go through raft in etcd. */
  readonly raft?: { propose(): void };
}

type Role = 'follower' | 'primary' | 'closed';

/**
 * The lease table of one server: grant, revoke, renew, expiry, and which keys each lease
 * holds. It is the store's lease hook (Put checks and attach/detach), and revokes through the
 * store's write path, so a revoke is one revision with one DELETE event per attached key.
 *
 * Like etcd's lessor it is primary only while the server runs: {@link promote} (on start)
 * gives every lease a full TTL plus an election timeout, {@link demote} (on stop) freezes
 * expiry. Leases themselves survive stop/start.
 */
export class Lessor implements LeaseAttachments {
  private readonly leases = new Map<bigint, Lease>();
  private readonly queue = new ExpiryQueue();
  private readonly timer: ExpiryTimer;
  private readonly ids: LeaseIdGenerator;
  private readonly store: MvccStore;
  private readonly clock: Clock;
  private readonly raft: { propose(): void } | undefined;
  private role: Role = 'follower';
  /** Minimum TTL in seconds. */
  readonly minTtl: bigint;

  constructor(options: LessorOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.raft = options.raft;
    this.minTtl = BigInt(options.minTtl ?? DEFAULT_MIN_LEASE_TTL);
    this.ids = new LeaseIdGenerator(options.memberId);
    this.timer = new ExpiryTimer(
      this.clock,
      { nextDue: () => this.queue.peek()?.at, runPass: () => this.revokeExpired(REVOKES_PER_PASS) },
      EXPIRY_PASS_INTERVAL_MS,
    );
  }

  /** Number of leases. */
  get size(): number {
    return this.leases.size;
  }

  /** Whether an expiry timer is pending (none while stopped or without leases). */
  get timerArmed(): boolean {
    return this.timer.armed;
  }

  /**
   * Grants a lease. `id` 0 picks a fresh positive id; `ttl` below the minimum is raised to it.
   * @throws leaseTtlTooLarge above {@link MAX_LEASE_TTL}; leaseExists when `id` is taken.
   */
  grant(id: bigint, ttl: bigint): Lease {
    if (ttl > MAX_LEASE_TTL) throw etcdError('leaseTtlTooLarge');
    let leaseId = id;
    if (leaseId === 0n) {
      do leaseId = this.ids.next();
      while (this.leases.has(leaseId));
    } else if (this.leases.has(leaseId)) {
      throw etcdError('leaseExists');
    }
    const lease = new Lease(leaseId, ttl < this.minTtl ? this.minTtl : ttl);
    this.leases.set(leaseId, lease);
    this.raft?.propose();
    if (this.role === 'primary') {
      lease.refresh(this.clock.now());
      this.queue.set(leaseId, lease.expiry);
      this.timer.reschedule();
    }
    return lease;
  }

  /**
   * Revokes a lease: deletes its keys (one revision when it has any), then forgets it.
   * @throws leaseNotFound for an unknown lease.
   */
  revoke(id: bigint): void {
    const lease = this.leases.get(id);
    if (lease === undefined) throw etcdError('leaseNotFound');
    this.revokeLease(lease);
  }

  /**
   * Renews a lease to its full TTL and returns that TTL; undefined when the lease does not
   * exist. A lease found expired but not yet revoked is revoked now (what a keepalive would
   * wait for in etcd) and reported as gone.
   */
  renew(id: bigint): bigint | undefined {
    const lease = this.leases.get(id);
    if (lease === undefined) return undefined;
    const now = this.clock.now();
    if (this.role === 'primary' && lease.isExpired(now)) {
      this.revokeLease(lease);
      return undefined;
    }
    if (this.role === 'primary') {
      lease.refresh(now);
      this.queue.set(id, lease.expiry);
    }
    return lease.ttl;
  }

  /** The lease with this id. */
  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** Every lease, soonest expiry first. */
  list(): Lease[] {
    return [...this.leases.values()].sort((a, b) => a.expiry - b.expiry || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Remaining whole seconds of a lease at the current time. */
  remainingSeconds(lease: Lease): bigint {
    return lease.remainingSeconds(this.clock.now());
  }

  // LeaseAttachments (the store's hook)

  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  apply(moves: readonly LeaseMove[]): void {
    for (const move of moves) {
      const key = keyString(move.key);
      if (move.from !== 0n) this.leases.get(move.from)?.keys.delete(key);
      if (move.to !== 0n) this.leases.get(move.to)?.keys.add(key);
    }
  }

  // primary / follower

  /** Starts managing expiry: every lease expires its full TTL plus `extendMs` from now. */
  promote(extendMs = ELECTION_TIMEOUT_MS): void {
    if (this.role === 'closed') return;
    this.role = 'primary';
    const now = this.clock.now();
    for (const lease of this.leases.values()) {
      lease.refresh(now, extendMs);
      this.queue.set(lease.id, lease.expiry);
    }
    this.timer.reschedule();
  }

  /** Stops managing expiry (no timer left); leases are kept and never expire meanwhile. */
  demote(): void {
    if (this.role === 'closed') return;
    this.role = 'follower';
    for (const lease of this.leases.values()) lease.expiry = NEVER;
    this.queue.clear();
    this.timer.stop();
  }

  /** Stops for good: no timer is left and none will be set. */
  close(): void {
    this.demote();
    this.role = 'closed';
    this.timer.close();
  }

  /** Revokes up to `limit` expired leases; returns whether more expired ones are waiting. */
  private revokeExpired(limit: number): boolean {
    if (this.role !== 'primary') return false;
    const now = this.clock.now();
    let revoked = 0;
    for (;;) {
      const slot = this.queue.peek();
      if (slot === undefined || slot.at > now) return false;
      const lease = this.leases.get(slot.id);
      if (lease === undefined) {
        this.queue.delete(slot.id);
        continue;
      }
      if (!lease.isExpired(now)) {
        this.queue.set(lease.id, lease.expiry);
        continue;
      }
      if (revoked >= limit) return true;
      revoked++;
      try {
        this.revokeLease(lease);
      } catch {
        // could not delete its keys (the store is busy or refused): look again later
        this.queue.set(lease.id, now + EXPIRED_RETRY_MS);
      }
    }
  }

  /** Deletes the lease's keys in one store write (ascending key order), then drops it. */
  private revokeLease(lease: Lease): void {
    const keys = lease.sortedKeys();
    if (keys.length > 0) {
      this.store.write((txn) => {
        for (const key of keys) txn.deleteRange({ start: key, end: null, single: true });
      });
    }
    this.leases.delete(lease.id);
    this.queue.delete(lease.id);
    this.raft?.propose();
  }
}
