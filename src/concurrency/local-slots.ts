/**
 * In-process exclusion per (session, key). A recipe's key depends only on the prefix and the
 * session's lease, so two lock() calls (or campaigns) of one session on one prefix would share
 * a key and both believe they hold it (Go's documented trap). Each use of a key first takes
 * its slot here; others wait, in FIFO order, until it is given back.
 */
import type { Session } from './session.js';

/** Gives the slot back (idempotent). */
export type ReleaseSlot = () => void;

interface Waiter {
  readonly grant: (release: ReleaseSlot) => void;
}

/** Busy slots per session: key (hex) -> waiters queued behind the current user. */
const slots = new WeakMap<Session, Map<string, Waiter[]>>();

/** Takes the slot if it is free: the release function, or `undefined` when it is busy. */
export function trySlot(session: Session, slotKey: string): ReleaseSlot | undefined {
  let bySession = slots.get(session);
  if (bySession === undefined) {
    bySession = new Map();
    slots.set(session, bySession);
  }
  if (bySession.has(slotKey)) return undefined;
  bySession.set(slotKey, []);
  return releaser(bySession, slotKey);
}

/**
 * Takes the slot, waiting in FIFO order while it is busy. Rejects with `signal.reason` if
 * `signal` aborts first (the waiter then leaves the queue).
 */
export function takeSlot(session: Session, slotKey: string, signal: AbortSignal): Promise<ReleaseSlot> {
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  const free = trySlot(session, slotKey);
  if (free !== undefined) return Promise.resolve(free);
  const queue = slots.get(session)!.get(slotKey)!;
  return new Promise((resolve, reject) => {
    const waiter: Waiter = {
      grant: (release) => {
        signal.removeEventListener('abort', onAbort);
        resolve(release);
      },
    };
    const onAbort = () => {
      const index = queue.indexOf(waiter);
      if (index >= 0) queue.splice(index, 1);
      reject(signal.reason as unknown);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}

function releaser(bySession: Map<string, Waiter[]>, slotKey: string): ReleaseSlot {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const queue = bySession.get(slotKey);
    const next = queue?.shift();
    if (next === undefined) bySession.delete(slotKey);
    else next.grant(releaser(bySession, slotKey));
  };
}
