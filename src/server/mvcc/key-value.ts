import type { KeyValue } from '../wire.js';

/**
 * Stored KeyValues are immutable wire-shaped objects shared by the index, the event log and
 * responses. A deletion is stored as a tombstone: key and mod_revision set, version 0.
 */
export function isTombstone(kv: KeyValue): boolean {
  return kv.version === 0n;
}

const EMPTY = new Uint8Array(0);

/** The tombstone written when `key` is deleted at `revision`. */
export function tombstone(key: Uint8Array, revision: bigint): KeyValue {
  return { key, create_revision: 0n, mod_revision: revision, version: 0n, value: EMPTY, lease: 0n };
}

/** A copy without the value (keys_only reads). */
export function withoutValue(kv: KeyValue): KeyValue {
  return { ...kv, value: EMPTY };
}

/** Approximate storage cost of one stored change (key, value and bookkeeping). */
export function storedSize(kv: KeyValue): number {
  return kv.key.length + kv.value.length + 48;
}
