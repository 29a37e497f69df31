import { etcdErrors, watchCancelReasons } from '../../protocol/error-table.js';
import type { WatchCreateRequest } from '../../protocol/messages.generated.js';
import { WatchCreateRequest_FilterType } from '../../protocol/messages.generated.js';
import { keySpan, type KeySpan } from '../mvcc/key-span.js';

/** What a watcher was asked for, after etcd's normalisation of the create request. */
export interface WatchSpec {
  readonly span: KeySpan;
  /** The requested start revision (0 = from the next revision). */
  readonly startRevision: bigint;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** The client-chosen ID, 0 for an automatic one. */
  readonly requestedId: bigint;
}

export type CreateCheck = { readonly ok: true; readonly spec: WatchSpec } | { readonly ok: false; readonly reason: string };

const SMALLEST_KEY = new Uint8Array([0]);

/**
 * etcd's handling of a create request before the watcher exists: an empty key means `\0`, a
 * `\0` range end means "every key from key on"; a negative start revision is refused with the
 * compacted message (3.5+), a range whose end is not after its key with the empty-range reason.
 * (The duplicate-ID check needs the stream, see WatchIds.)
 */
export function checkCreateRequest(req: WatchCreateRequest): CreateCheck {
  if (req.start_revision < 0n) return { ok: false, reason: etcdErrors.compacted.message };
  const key = req.key.length === 0 ? SMALLEST_KEY : req.key;
  const end = req.range_end;
  const fromKey = end.length === 1 && end[0] === 0;
  if (end.length !== 0 && !fromKey && Buffer.compare(key, end) >= 0) {
    return { ok: false, reason: watchCancelReasons.emptyRange };
  }
  return {
    ok: true,
    spec: {
      span: keySpan(key, end),
      startRevision: req.start_revision,
      noPut: req.filters.includes(WatchCreateRequest_FilterType.NOPUT),
      noDelete: req.filters.includes(WatchCreateRequest_FilterType.NODELETE),
      prevKv: req.prev_kv,
      progressNotify: req.progress_notify,
      fragment: req.fragment,
      requestedId: req.watch_id,
    },
  };
}
