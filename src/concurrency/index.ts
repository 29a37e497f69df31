/**
 * Concurrency recipes built on leases.
 */
export { createSession, defaultSessionTtl, Session } from './session.js';
export type { SessionOptions } from './session.js';
