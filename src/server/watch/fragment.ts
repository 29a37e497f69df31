import { encode } from '../../protocol/codec.js';
import type { Event, Init, WatchResponse } from '../../protocol/messages.generated.js';

/** Bytes a length-delimited field of `n` bytes takes with a one-byte tag. */
function fieldSize(n: number): number {
  let varint = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) varint++;
  return 1 + varint + n;
}

/** A cheap upper bound of one event's encoded size (to skip exact sizing of small ones). */
function eventSizeBound(ev: Init<Event>): number {
  const kvBound = (kv: Init<Event>['kv']): number =>
    kv === undefined ? 0 : 80 + (kv.key?.length ?? 0) + (kv.value?.length ?? 0);
  return 16 + kvBound(ev.kv) + kvBound(ev.prev_kv);
}

/**
 * etcd's sendFragments: a response of at least `maxBytes` holding two or more events is cut
 * into pieces, each as many events as fit below `maxBytes` (at least one); every piece but
 * the last has `fragment` set. Pieces share header and watch_id. Smaller responses are
 * returned as they are.
 */
export function fragmentResponse(resp: Init<WatchResponse>, maxBytes: number): Init<WatchResponse>[] {
  const events = resp.events ?? [];
  if (events.length < 2) return [resp];
  const base = encode('etcdserverpb.WatchResponse', { ...resp, events: [], fragment: true }).length;
  let bound = base;
  for (const ev of events) bound += eventSizeBound(ev);
  if (bound < maxBytes) return [resp];
  const sizes = events.map((ev) => fieldSize(encode('mvccpb.Event', ev).length));
  const total = sizes.reduce((a, n) => a + n, base - 2);
  if (total < maxBytes) return [resp];
  const pieces: Init<WatchResponse>[] = [];
  let i = 0;
  while (i < events.length) {
    let size = base + sizes[i]!;
    let j = i + 1;
    while (j < events.length && size + sizes[j]! < maxBytes) size += sizes[j++]!;
    pieces.push({ ...resp, events: events.slice(i, j), fragment: j < events.length });
    i = j;
  }
  return pieces;
}
