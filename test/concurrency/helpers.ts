/**
 * Helpers for the lock and election tests: sessions, bounded waits, and event recorders.
 */
import assert from 'node:assert/strict';
import { createSession } from '../../src/index.js';
import type { Client, Session } from '../../src/index.js';

/** Creates a session (TTL in seconds), or resumes one on `leaseId`. */
export function newSession(client: Client, ttl = 10, leaseId?: bigint): Promise<Session> {
  return createSession(client, leaseId === undefined ? { ttl } : { ttl, leaseId });
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` (sync or async) every `intervalMs` until it holds; fails after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (await condition()) return;
    if (Date.now() > deadline) break;
    await sleep(intervalMs);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Tracks whether a promise settled, without making it unhandled. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** Resolves `promise` or fails the test after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not settled within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Number of keys under `prefix/`. */
export async function keysUnder(client: Client, prefix: string): Promise<string[]> {
  const { kvs } = await client.kv.get(`${prefix}/`, { prefix: true, keysOnly: true });
  return kvs.map((kv) => kv.keyText);
}
