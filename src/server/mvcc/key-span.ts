/**
 * Keys inside the store are "binary" strings: one UTF-16 code unit per byte (latin1), so JS
 * string comparison equals unsigned bytewise comparison. A KeySpan is the store-side form of
 * etcd's (key, range_end) pair.
 */

/** Store key (latin1 string) of a byte key. */
export function keyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A fresh byte copy of a store key. */
export function keyBytes(key: string): Uint8Array {
  return Buffer.from(key, 'latin1');
}

/** A set of keys: one key, or [start, end) where `end` null means "to the last key". */
export interface KeySpan {
  readonly start: string;
  /** Exclusive end; `null` = unbounded. Ignored when `single`. */
  readonly end: string | null;
  readonly single: boolean;
}

/**
 * etcd's key range rules: empty range_end = the single key; range_end "\0" = every key >= key;
 * otherwise [key, range_end), empty when range_end <= key.
 */
export function keySpan(key: Uint8Array, rangeEnd: Uint8Array): KeySpan {
  const start = keyString(key);
  if (rangeEnd.length === 0) return { start, end: null, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null, single: false };
  return { start, end: keyString(rangeEnd), single: false };
}

/** Whether a store key lies in the span. */
export function spanContains(span: KeySpan, key: string): boolean {
  if (span.single) return key === span.start;
  return key >= span.start && (span.end === null || key < span.end);
}
