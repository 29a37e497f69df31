/**
 * Watch wire -> public conversions: events (through convert.ts's KeyValue builder) and the
 * errors a watch response carries (cancel reasons, compaction), classified by errors.ts.
 */
import { toKeyValue } from '../convert.js';
import { classifyStatus } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { etcdErrorByMessage, etcdErrors, GrpcCode } from '../protocol/error-table.js';
import { Event_EventType } from '../protocol/messages.generated.js';
import type * as wire from '../protocol/messages.generated.js';
import type { WatchEvent } from './types.js';

/** Converts one wire event (its `kv` must be present). */
export function toWatchEvent(event: wire.Event & { kv: wire.KeyValue }): WatchEvent {
  const kv = toKeyValue(event.kv);
  return {
    type: event.type === Event_EventType.DELETE ? 'delete' : 'put',
    kv,
    prevKv: event.prev_kv === undefined ? undefined : toKeyValue(event.prev_kv),
    revision: kv.modRevision,
  };
}

// etcd sends failed creations' reasons as a Go status string: `rpc error: code = X desc = Y`.
const goStatus = /^rpc error: code = (\w+) desc = ([\s\S]*)$/;

/** `PermissionDenied` -> GrpcCode.PERMISSION_DENIED. */
function goCode(name: string): number {
  const key = name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  return (GrpcCode as Record<string, number>)[key] ?? GrpcCode.UNKNOWN;
}

/**
 * The error for a watch the server cancelled with `cancel_reason` (at creation: permission
 * denied, empty range, duplicate id ...; later: whatever the server says).
 */
export function cancelReasonError(reason: string, endpoint: string | undefined): EtcdError {
  let code: number;
  let details: string;
  const status = goStatus.exec(reason);
  if (status !== null) {
    code = goCode(status[1]!);
    details = status[2]!;
  } else if (reason === '') {
    code = etcdErrors.watchCanceled.code;
    details = etcdErrors.watchCanceled.message;
  } else {
    const name = etcdErrorByMessage(reason);
    code = name === undefined ? GrpcCode.FAILED_PRECONDITION : etcdErrors[name].code;
    details = reason;
  }
  return classifyStatus({ code, details }, { idempotent: true, endpoint });
}

/** The CompactedError a watch ends with under the `'error'` compaction policy. */
export function compactedError(endpoint: string | undefined): EtcdError {
  return classifyStatus({ code: etcdErrors.compacted.code, details: etcdErrors.compacted.message }, { idempotent: true, endpoint });
}
