import { keySpan } from '../mvcc/key-span.js';
import type { ReadView } from '../mvcc/read-view.js';
import { Compare_CompareResult as Result, Compare_CompareTarget as Target, type Compare, type KeyValue } from '../wire.js';

const ZERO_KV: KeyValue = {
  key: new Uint8Array(0),
  create_revision: 0n,
  mod_revision: 0n,
  version: 0n,
  value: new Uint8Array(0),
  lease: 0n,
};

/**
 * Evaluates one Compare against a view: it must hold for every key in its range; an absent
 * key compares as a zero KeyValue, except that a VALUE compare on no key is always false.
 */
export function compareHolds(view: ReadView, c: Compare): boolean {
  const { kvs } = view.rangeKeys(keySpan(c.key, c.range_end), 0n);
  if (kvs.length === 0) return c.target === Target.VALUE ? false : compareKv(c, ZERO_KV);
  return kvs.every((kv) => compareKv(c, kv));
}

/** All compares hold (true for none). */
export function comparesHold(view: ReadView, compares: readonly Compare[]): boolean {
  return compares.every((c) => compareHolds(view, c));
}

const sign = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function compareKv(c: Compare, kv: KeyValue): boolean {
  let result = 0;
  switch (c.target) {
    case Target.VALUE:
      result = Buffer.compare(kv.value, c.value ?? ZERO_KV.value);
      break;
    case Target.CREATE:
      result = sign(kv.create_revision, c.create_revision ?? 0n);
      break;
    case Target.MOD:
      result = sign(kv.mod_revision, c.mod_revision ?? 0n);
      break;
    case Target.VERSION:
      result = sign(kv.version, c.version ?? 0n);
      break;
    case Target.LEASE:
      result = sign(kv.lease, c.lease ?? 0n);
      break;
  }
  switch (c.result) {
    case Result.EQUAL:
      return result === 0;
    case Result.NOT_EQUAL:
      return result !== 0;
    case Result.GREATER:
      return result > 0;
    case Result.LESS:
      return result < 0;
    default:
      return true;
  }
}
