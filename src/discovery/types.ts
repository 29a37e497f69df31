/**
 * Public types of service registration and discovery.
 */
import type { ZodType } from 'zod';
import type { EtcdError } from '../errors.js';
import type { InvalidEntry } from '../cache/types.js';
import type { LeaseLostError } from '../lease/errors.js';

/** One registered instance of a service. */
export interface ServiceInstance<M = unknown> {
  /** Its key: `<service>/<addr>`. */
  readonly key: string;
  /** The address clients connect to (Go's `Endpoint.Addr`). */
  readonly addr: string;
  /** Its metadata (Go's `Endpoint.Metadata`); `null` when none was registered. */
  readonly metadata: M;
  /** ID of the lease the key is bound to (0n when none). */
  readonly leaseId: bigint;
  /** Revision of the last write of the entry. */
  readonly revision: bigint;
}

/** A change of the set of instances. */
export type DiscoveryChange<M = unknown> =
  | { readonly type: 'added'; readonly instance: ServiceInstance<M>; readonly revision: bigint }
  | {
      readonly type: 'updated';
      readonly instance: ServiceInstance<M>;
      readonly previous: ServiceInstance<M>;
      readonly revision: bigint;
    }
  | { readonly type: 'removed'; readonly instance: ServiceInstance<M>; readonly revision: bigint };

/** Listener signatures of a `Discovery`. */
export interface DiscoveryEvents<M> {
  /** An instance was added, updated (address or metadata changed) or removed. */
  change: (change: DiscoveryChange<M>) => void;
  /** An entry under the service is not a valid endpoint (bad JSON, wrong field types, metadata failing the schema); it is skipped. */
  invalid: (entry: InvalidEntry) => void;
  /** The connection broke; the instances are current as of `revision` and catch up by themselves. */
  disconnected: (error: EtcdError) => void;
  /** Following changes again after a disconnection. */
  reconnected: () => void;
  /** Discovery failed for good (state `failed`); the last known instances stay readable. */
  error: (error: EtcdError) => void;
}

/** Options of `discover`. */
export interface DiscoverOptions<M> {
  /** Validates each instance's metadata; instances failing it are reported (`invalid`) and skipped. */
  metadataSchema?: ZodType<M>;
  /** Aborting closes the discovery. */
  signal?: AbortSignal;
}

/** An endpoint to register: its address and optional metadata (any JSON value). */
export interface EndpointInit<M = unknown> {
  /** The address clients connect to, e.g. `10.0.0.5:8080`. Also the last part of the key. */
  addr: string;
  /** Any JSON value; stored as Go's `Metadata` (`null` when absent). */
  metadata?: M;
}

/** Backoff bounds of re-registration. */
export interface RegistrationRetry {
  /** First delay before jitter (which multiplies by 1..2); doubles per failed attempt. Default 100 ms. */
  minDelayMs?: number;
  /** Largest delay. Default 5000 ms. */
  maxDelayMs?: number;
}

/** Options of `register`. */
export interface RegisterOptions<M> {
  /** TTL of the registration's lease in seconds (a positive integer). Default 10. */
  ttl?: number;
  /** Validates the metadata before anything is written. */
  metadataSchema?: ZodType<M>;
  /** Aborting closes the registration (it is deregistered). Aborting during `register()` rejects it. */
  signal?: AbortSignal;
  /** Backoff between re-registration attempts after the lease is lost. */
  retry?: RegistrationRetry;
}

/** A successful re-registration on a new lease. */
export interface Reregistered {
  /** The new lease. */
  readonly leaseId: bigint;
  /** The lease that was lost. */
  readonly previousLeaseId: bigint;
  /** Attempts it took (1 when the first one succeeded). */
  readonly attempts: number;
}

/** Listener signatures of a `Registration`. */
export interface RegistrationEvents {
  /** The lease was lost (expired, revoked by someone else, or not renewed in time); re-registration starts at once. */
  lost: (error: LeaseLostError) => void;
  /** Registered again on a new lease. */
  reregistered: (info: Reregistered) => void;
  /** A re-registration attempt failed (it is retried), or deregistering on close failed. */
  error: (error: EtcdError) => void;
}

/**
 * `registered`: the key is written and its lease kept alive; `reregistering`: the lease was
 * lost and a new registration is being made; `closed`: deregistered (or the client closed).
 */
export type RegistrationState = 'registered' | 'reregistering' | 'closed';
