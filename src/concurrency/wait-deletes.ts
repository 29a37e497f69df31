/**
 * Waiting for the keys ahead of ours in a recipe's queue, as Go's `waitDeletes` does: find
 * the newest key created before ours (our immediate predecessor), wait for its deletion,
 * repeat until no older key is left. Each waiter watches only its predecessor, so a release
 * wakes one waiter, not the whole queue.
 */
import type { Client } from '../client.js';
import type { ResponseHeader } from '../convert.js';
import { CancelledError, EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { WatchItem } from '../watch/types.js';
import type { Watch } from '../watch/watch.js';
import { lastCreateUpTo } from './keys.js';

/** Most predecessors waited for in one call (a bound on the loop; queues are far shorter). */
const maxRounds = 100_000;

/**
 * Resolves once no key under `prefix` has a create revision `<= maxCreateRevision`.
 * Rejects with `signal.reason` when `signal` aborts, or with the typed error of a failed read
 * or watch.
 */
export async function waitDeletes(
  client: Client,
  prefix: Uint8Array,
  maxCreateRevision: bigint,
  signal: AbortSignal,
): Promise<ResponseHeader> {
  for (let round = 0; round < maxRounds; round++) {
    if (signal.aborted) throw signal.reason;
    let found;
    try {
      found = await client.kv.get(prefix, { ...lastCreateUpTo(maxCreateRevision), keysOnly: true, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    }
    const predecessor = found.kvs[0];
    if (predecessor === undefined) return found.header;
    await waitDelete(client, predecessor.key, found.header.revision, signal);
  }
  throw new EtcdError({ code: GrpcCode.INTERNAL, etcdMessage: `waited for more than ${maxRounds} predecessors`, retryable: false });
}

function watchCancelled(): CancelledError {
  return new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'the watch on the predecessor key was cancelled', retryable: true });
}

/**
 * Resolves once `key` is deleted at or after `fromRevision` (or may have been: after a
 * compaction the caller re-reads). Rejects with `signal.reason` on abort, or with the
 * watch's error if it fails.
 */
export function waitDelete(client: Client, key: Uint8Array, fromRevision: bigint, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<void>((resolve, reject) => {
    let watch: Watch | undefined;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (watch !== undefined && !watch.ended) void watch.cancel().catch(() => undefined);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(signal.reason);
    const onItem = (item: WatchItem) => {
      // A delete, or a resync after compaction (the caller's next read decides), ends the wait.
      if (item.type === 'delete' || item.type === 'resync') finish();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      watch = client.watch(key, { startRevision: fromRevision, filters: { noPut: true }, onCompacted: 'resync' });
    } catch (error) {
      finish(error);
      return;
    }
    watch
      .on('delete', onItem)
      .on('resync', onItem)
      .on('end', (reason) => finish(signal.aborted ? signal.reason : (reason ?? watchCancelled())));
  });
}
