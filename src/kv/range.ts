/**
 * Key ranges: turns a key plus `prefix` / `rangeEnd` / `fromKey` into etcd's (key, range_end)
 * pair, the same way for reads, deletes and compares.
 */
import { prefixEnd, toBytes, toKey, zeroKey } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import type { RangeSelector } from './types.js';

/** etcd's key range: a single key when `range_end` is undefined. */
export interface KeyRange {
  key: Uint8Array;
  range_end?: Uint8Array;
}

/**
 * Resolves a key and range selector.
 * - no selector: the single key (must not be empty);
 * - `prefix`: keys starting with `key` (empty key: every key, sent as `\0`..`\0`);
 * - `fromKey`: keys >= `key` (empty key: every key);
 * - `rangeEnd`: keys in [key, rangeEnd) (rangeEnd must not be empty).
 * @throws InvalidArgumentError naming the argument at fault.
 */
export function resolveRange(key: Bytes, selector: RangeSelector | undefined, optionsName = 'options'): KeyRange {
  if (selector === undefined) return { key: toKey(key) };
  const { prefix, rangeEnd, fromKey } = selector;
  const chosen = (prefix === true ? 1 : 0) + (fromKey === true ? 1 : 0) + (rangeEnd !== undefined ? 1 : 0);
  if (prefix !== undefined && typeof prefix !== 'boolean') {
    throw new InvalidArgumentError(`${optionsName}.prefix`, `expected a boolean, got ${typeof prefix}`);
  }
  if (fromKey !== undefined && typeof fromKey !== 'boolean') {
    throw new InvalidArgumentError(`${optionsName}.fromKey`, `expected a boolean, got ${typeof fromKey}`);
  }
  if (chosen > 1) {
    const names = [prefix === true && 'prefix', rangeEnd !== undefined && 'rangeEnd', fromKey === true && 'fromKey']
      .filter(Boolean)
      .join(' and ');
    throw new InvalidArgumentError(optionsName, `prefix, rangeEnd and fromKey are mutually exclusive, got ${names}`);
  }
  if (prefix === true) {
    const bytes = toBytes(key, 'key');
    if (bytes.length === 0) return { key: zeroKey(), range_end: zeroKey() };
    return { key: bytes, range_end: prefixEnd(bytes) };
  }
  if (fromKey === true) {
    const bytes = toBytes(key, 'key');
    return { key: bytes.length === 0 ? zeroKey() : bytes, range_end: zeroKey() };
  }
  if (rangeEnd !== undefined) {
    const end = toBytes(rangeEnd, `${optionsName}.rangeEnd`);
    if (end.length === 0) {
      throw new InvalidArgumentError(`${optionsName}.rangeEnd`, 'must not be empty (omit it to select a single key)');
    }
    return { key: toKey(key), range_end: end };
  }
  return { key: toKey(key) };
}

/** The whole keyspace: key `\0`, range end `\0`. */
export function wholeKeyspace(): KeyRange {
  return { key: zeroKey(), range_end: zeroKey() };
}
