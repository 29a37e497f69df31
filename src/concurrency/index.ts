/**
 * Concurrency recipes built on leases.
 */
export { createSession, defaultSessionTtl, Session } from './session.js';
export type { SessionOptions } from './session.js';
export { Mutex, HeldLock, withLock } from './mutex.js';
export type { LockOptions, TryLockOptions, WithLockOptions } from './mutex.js';
export { Election, Leadership, ElectionObserver } from './election.js';
export type { CampaignOptions, LeaderOptions, ObserveOptions, ElectionEvents } from './election.js';
export {
  OwnershipLostError,
  LockLostError,
  LeadershipLostError,
  SessionExpiredError,
  LockedError,
  ElectionNotLeaderError,
  ElectionNoLeaderError,
} from './errors.js';
export type { OwnershipLostReason } from './errors.js';
export type { WaitOptions } from './wait-scope.js';
export { runStm, StmConflictError } from './stm.js';
export type { Stm, StmApply, StmIsolation, StmOptions, StmPutOptions } from './stm.js';
export { Queue } from './fifo-queue.js';
export type { EnqueueResult, QueueCallOptions } from './fifo-queue.js';
