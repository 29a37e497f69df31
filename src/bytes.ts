/**
 * Bytes and text helpers: keys and values are bytes; strings are accepted as UTF-8.
 */
import { Buffer } from 'node:buffer';
import { describeInput, InvalidArgumentError } from './errors.js';

/** A key or value: raw bytes, or a string encoded as UTF-8. */
export type Bytes = Uint8Array | string;

const empty = new Uint8Array(0);
const zeroByte = Uint8Array.of(0);

/** The single byte `\0` (shared; never mutate it): as a range end, "to the end of the keyspace". */
export function zeroKey(): Uint8Array {
  return zeroByte;
}

/**
 * Converts a key or value to bytes: strings are UTF-8 encoded, `Uint8Array`s pass through
 * without copying.
 * @throws InvalidArgumentError (naming `argument`) for anything else.
 */
export function toBytes(value: Bytes, argument = 'value'): Uint8Array {
  if (typeof value === 'string') return value.length === 0 ? empty : Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw new InvalidArgumentError(argument, `expected a string or Uint8Array, got ${describeInput(value)}`);
}

/**
 * Converts a key to bytes and checks it is not empty (etcd rejects empty keys).
 * @throws InvalidArgumentError naming `argument`.
 */
export function toKey(key: Bytes, argument = 'key'): Uint8Array {
  const bytes = toBytes(key, argument);
  if (bytes.length === 0) throw new InvalidArgumentError(argument, 'must not be empty');
  return bytes;
}

/** Decodes UTF-8 bytes to a string (invalid sequences become U+FFFD); no copy of the bytes. */
export function bytesToText(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * The range end that selects every key starting with `prefix`: the prefix with its last byte
 * incremented, after dropping trailing 0xff bytes. An empty or all-0xff prefix has no such
 * end; the result is then `\0` (to the end of the keyspace), as etcd clients send.
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const bytes = toBytes(prefix, 'prefix');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] !== 0xff) {
      // A copy: Buffer#slice would return a view and the increment would modify the prefix.
      const end = new Uint8Array(i + 1);
      end.set(bytes.subarray(0, i + 1));
      end[i] += 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}
