/**
 * etcdkit: a typed client for etcd v3.
 */
export { Client } from './client.js';
export type { ClientOptions, CallOptions } from './options.js';
export { KV } from './kv/kv.js';
export type { GetAllOptions, DeleteAllOptions } from './kv/kv.js';
export { Compare, Op, TxnBuilder } from './kv/txn.js';
export type { CompareOperator, OpType } from './kv/txn.js';
export type {
  Int64,
  RangeSelector,
  RangeOptions,
  SortTarget,
  SortOrder,
  GetOptions,
  PutOpOptions,
  PutOptions,
  DeleteOpOptions,
  DeleteOptions,
  CompactOptions,
  GetResult,
  PutResult,
  DeleteResult,
  CompactResult,
  TxnResult,
  TxnOpResult,
} from './kv/types.js';
export { LeaseClient } from './lease/lease-client.js';
export { Lease } from './lease/lease.js';
export type { LeaseEvents, LeaseRenewal } from './lease/lease.js';
export { LeaseLostError } from './lease/errors.js';
export type { LeaseLostReason } from './lease/errors.js';
export type {
  LeaseGrantOptions,
  LeaseGrantResult,
  LeaseRevokeResult,
  LeaseTimeToLiveOptions,
  LeaseTimeToLiveResult,
  LeaseLeasesResult,
  LeaseKeepAliveResult,
  CreateLeaseOptions,
  AdoptLeaseOptions,
} from './lease/types.js';
export { createSession, Session } from './concurrency/session.js';
export type { SessionOptions } from './concurrency/session.js';
export { Mutex, HeldLock, withLock } from './concurrency/mutex.js';
export type { LockOptions, TryLockOptions, WithLockOptions } from './concurrency/mutex.js';
export { Election, Leadership, ElectionObserver } from './concurrency/election.js';
export type { CampaignOptions, LeaderOptions, ObserveOptions, ElectionEvents } from './concurrency/election.js';
export {
  OwnershipLostError,
  LockLostError,
  LeadershipLostError,
  SessionExpiredError,
  LockedError,
  ElectionNotLeaderError,
  ElectionNoLeaderError,
} from './concurrency/errors.js';
export type { OwnershipLostReason } from './concurrency/errors.js';
export type { WaitOptions } from './concurrency/wait-scope.js';
export { runStm, StmConflictError } from './concurrency/stm.js';
export type { Stm, StmApply, StmIsolation, StmOptions, StmPutOptions } from './concurrency/stm.js';
export { Queue } from './concurrency/fifo-queue.js';
export type { EnqueueResult, QueueCallOptions } from './concurrency/fifo-queue.js';
export { createCache, PrefixCache } from './cache/prefix-cache.js';
export type { CacheChange, CacheEntry, CacheEvents, CacheOptions, CacheState, InvalidEntry } from './cache/types.js';
export { watchConfig, ConfigWatcher } from './cache/config.js';
export type { ConfigChange, ConfigEvents, ConfigInvalid, WatchConfigOptions } from './cache/config.js';
export { register, Registration } from './discovery/registration.js';
export { discover, Discovery } from './discovery/discovery.js';
export type {
  DiscoverOptions,
  DiscoveryChange,
  DiscoveryEvents,
  EndpointInit,
  RegisterOptions,
  RegistrationEvents,
  RegistrationRetry,
  RegistrationState,
  Reregistered,
  ServiceInstance,
} from './discovery/types.js';
export { Watch } from './watch/watch.js';
export type {
  WatchOptions,
  WatchItem,
  WatchEvent,
  WatchProgress,
  WatchCompacted,
  WatchResync,
  WatchListeners,
  WatchListenerKind,
  CompactionPolicy,
} from './watch/types.js';
export { KeyValue } from './convert.js';
export type { ResponseHeader } from './convert.js';
export { bytesToText, prefixEnd, toBytes } from './bytes.js';
export type { Bytes } from './bytes.js';
export {
  EtcdError,
  CompactedError,
  FutureRevisionError,
  LeaseNotFoundError,
  LeaseExistsError,
  LeaseTtlTooLargeError,
  DuplicateKeyError,
  TooManyOpsError,
  RequestTooLargeError,
  KeyNotFoundError,
  ValueProvidedError,
  LeaseProvidedError,
  KeyNotProvidedError,
  InvalidSortOptionError,
  PermissionDeniedError,
  InvalidAuthTokenError,
  AuthOldRevisionError,
  AuthFailedError,
  AuthNotEnabledError,
  UserEmptyError,
  NoLeaderError,
  LeaderChangedError,
  UnhealthyClusterError,
  TooManyRequestsError,
  NoSpaceError,
  CorruptError,
  ServerStoppedError,
  RequestTimedOutError,
  EtcdServerError,
  UnavailableError,
  DeadlineExceededError,
  CancelledError,
  ClientClosedError,
  InvalidArgumentError,
  ValueDecodeError,
} from './errors.js';
export type { EtcdErrorInit } from './errors.js';
