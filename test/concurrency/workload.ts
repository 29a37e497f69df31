/**
 * The critical section of the contention test, shared by in-process workers and the child
 * processes (worker.ts): read a shared counter, dawdle, then increment it with a transaction
 * fenced on the lock (`ownerCompare()`) AND on the counter being unchanged since the read.
 * The counter's value is `<n>:<fencing token>`, so its history in etcd is the shared record.
 * A write that fails while the lock key still exists but the counter moved proves that two
 * holders overlapped; the test asserts that never happens.
 */
import { Compare, Op } from '../../src/index.js';
import type { Client, HeldLock } from '../../src/index.js';

/** One line of a worker's record (JSON lines on a child's stdout). */
export type WorkRecord =
  | { ev: 'acquired'; id: string; token: string; t: number }
  | { ev: 'write'; id: string; token: string; ok: boolean; n: number; overlap: boolean; signalled: boolean }
  | { ev: 'released'; id: string; token: string; t: number }
  | { ev: 'lost'; id: string; token: string; reason: string }
  | { ev: 'error'; id: string; message: string }
  | { ev: 'done'; id: string };

/** Milliseconds since the epoch with sub-millisecond precision (comparable across processes). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs the critical section once under `lock`; `meanwhile` runs between the read and the
 * fenced write (where the test injects session loss).
 */
export async function criticalSection(
  client: Client,
  lock: HeldLock,
  counterKey: string,
  id: string,
  holdMs: number,
  meanwhile?: () => Promise<void>,
): Promise<Extract<WorkRecord, { ev: 'write' }>> {
  const token = lock.fencingToken.toString();
  const read = await client.kv.get(counterKey);
  const current = read.kvs[0];
  const value = current === undefined ? 0 : Number(current.valueText.split(':')[0]);
  const seenMod = current?.modRevision ?? 0n;
  await sleep(Math.random() * holdMs);
  await meanwhile?.();
  const result = await client.kv
    .txn()
    .if(lock.ownerCompare(), Compare.modRevision(counterKey, '==', seenMod))
    .then(Op.put(counterKey, `${value + 1}:${token}`))
    .else(Op.get(lock.key), Op.get(counterKey))
    .commit();
  let overlap = false;
  if (!result.succeeded) {
    const [mine, counter] = result.responses;
    const stillMine = mine?.type === 'get' && mine.kvs[0]?.createRevision === lock.fencingToken;
    const moved = counter?.type === 'get' && (counter.kvs[0]?.modRevision ?? 0n) !== seenMod;
    overlap = stillMine && moved;
  }
  return { ev: 'write', id, token, ok: result.succeeded, n: result.succeeded ? value + 1 : value, overlap, signalled: lock.signal.aborted };
}
