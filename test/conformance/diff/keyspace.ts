/** The small key and value space the differential test draws from, so operations collide. */

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const raw = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

/** 30 keys: text ones with shared prefixes, and binary ones (0x00, 0xff, non-UTF-8). */
export const KEYS: readonly Uint8Array[] = [
  ...['a', 'a/1', 'a/2', 'ab', 'abc', 'b', 'b/1', 'b/2', 'b/3', 'c', 'cc', 'd', 'e', 'foo', 'foo/bar', 'z'].map(text),
  raw(0x00),
  raw(0x00, 0x00),
  raw(0x00, 0x01),
  raw(0x01),
  raw(0x61, 0x00),
  raw(0x61, 0xff),
  raw(0x61, 0xff, 0xff),
  raw(0x7f),
  raw(0x80),
  raw(0xc3, 0x28),
  raw(0xfe),
  raw(0xff),
  raw(0xff, 0x00),
  raw(0xff, 0xff),
];

/** Prefixes worth ranging over (including ones ending in 0xff bytes and an all-0xff one). */
export const PREFIXES: readonly Uint8Array[] = [
  text('a'),
  text('a/'),
  text('b/'),
  text('foo'),
  text('c'),
  raw(0x00),
  raw(0x61, 0xff),
  raw(0xff),
  raw(0xff, 0xff),
  text('nope'),
];

export const VALUES: readonly Uint8Array[] = [
  text(''),
  text('v'),
  text('v1'),
  text('v2'),
  text('x'),
  raw(0x00),
  raw(0xff, 0xfe),
  text('a somewhat longer value to vary sizes'),
];

/** The one-zero-byte range end ("to the end of the key space"). */
export const ZERO = raw(0x00);

/** The range end of a prefix, as etcd clients compute it. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return raw(0x00);
}

/** Unsigned bytewise comparison (etcd's key order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Whether `key` lies in etcd's [start, end) with the empty / "\0" conventions. */
export function inRange(key: Uint8Array, start: Uint8Array, end: Uint8Array): boolean {
  if (end.length === 0) return compareBytes(key, start) === 0;
  if (end.length === 1 && end[0] === 0) return compareBytes(key, start) >= 0;
  return compareBytes(key, start) >= 0 && compareBytes(key, end) < 0;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
