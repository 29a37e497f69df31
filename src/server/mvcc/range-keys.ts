import { etcdError } from '../errors.js';
import type { KeyValue } from '../wire.js';
import type { KeyIndex } from './key-index.js';
import type { KeySpan } from './key-span.js';
import type { RangeKeysOptions, RangeKeysResult } from './read-view.js';

/**
 * etcd's rangeKeys over the index: resolves the read revision against the view's current
 * revision `current` and the compacted revision `firstRev`, then collects live keys.
 */
export function rangeKeys(
  index: KeyIndex,
  span: KeySpan,
  revision: bigint,
  current: bigint,
  firstRev: bigint,
  options: RangeKeysOptions = {},
): RangeKeysResult {
  if (revision > current) throw etcdError('futureRevision');
  const at = revision <= 0n ? current : revision;
  if (at < firstRev) throw etcdError('compacted');
  const limit = options.limit ?? 0;
  const countOnly = options.countOnly ?? false;
  const kvs: KeyValue[] = [];
  let count = 0;
  index.forEachInSpan(span, (h) => {
    const kv = at >= current ? h.latest() : h.at(at);
    if (kv === undefined) return;
    count++;
    if (!countOnly && (limit <= 0 || kvs.length < limit)) kvs.push(kv);
  });
  return { kvs, count, rev: current };
}
