/**
 * The resync read: every key of a watched range at the current revision, retried through
 * transient failures until it succeeds or the watch ends.
 */
import type { Invoke } from '../balancer/invoke.js';
import { toKeyValue } from '../convert.js';
import type { KeyValue } from '../convert.js';
import { retryForever } from './backoff.js';

/** The state of a range at one revision. */
export interface RangeState {
  readonly revision: bigint;
  readonly kvs: KeyValue[];
}

/** Reads `[key, rangeEnd)` (or the single key) at the current revision. */
export function readRangeState(
  rpc: Invoke,
  key: Uint8Array,
  rangeEnd: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<RangeState> {
  return retryForever(
    () =>
      rpc.invoke('KV', 'Range', { key, range_end: rangeEnd }, { signal }).then((res) => ({
        revision: res.header?.revision ?? 0n,
        kvs: res.kvs.map(toKeyValue),
      })),
    { signal },
  );
}
