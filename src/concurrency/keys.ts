/**
 * Key layout shared with Go's `concurrency` package and etcdctl (`lock`, `elect`):
 * a recipe on prefix `P` keeps its keys under `P/`, one per session, named by the session's
 * lease ID in lowercase hex without padding: `P/694d77aa9e38260f`. The key with the lowest
 * create revision under `P/` owns the lock (or is the leader).
 */
import { Buffer } from 'node:buffer';
import { bytesToText, toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import type { RangeOptions } from '../kv/types.js';

/** A recipe's working prefix (`P/`) and one session's key in it (`P/<lease hex>`). */
export interface RecipeKeys {
  /** `P/`, bytes. */
  readonly prefix: Uint8Array;
  /** `P` as text, for messages. */
  readonly name: string;
  /** `P/<lease hex>`. */
  readonly key: Uint8Array;
  /** {@link key} as text. */
  readonly keyText: string;
}

/**
 * Builds the keys for `prefix` and a session lease.
 * @throws InvalidArgumentError (naming `argument`) for an empty or non-bytes prefix.
 */
export function recipeKeys(prefix: Bytes, leaseId: bigint, argument = 'prefix'): RecipeKeys {
  const name = toBytes(prefix, argument);
  if (name.length === 0) throw new InvalidArgumentError(argument, 'must not be empty');
  const working = Buffer.concat([name, Buffer.from('/')]);
  const key = Buffer.concat([working, Buffer.from(leaseId.toString(16), 'latin1')]);
  return { prefix: working, name: bytesToText(name), key, keyText: bytesToText(key) };
}

/** The oldest key under the prefix (Go's `WithFirstCreate`): the owner / leader. */
export const firstCreate: Readonly<RangeOptions> = Object.freeze<RangeOptions>({
  prefix: true,
  sort: { target: 'create', order: 'ascend' },
  limit: 1,
});

/** The newest key under the prefix created at or before `maxCreateRevision` (Go's `WithLastCreate` + `WithMaxCreateRev`). */
export function lastCreateUpTo(maxCreateRevision: bigint): RangeOptions {
  return { prefix: true, sort: { target: 'create', order: 'descend' }, limit: 1, maxCreateRevision };
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** True when `key` lies strictly under `prefix`. */
export function isUnder(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length > prefix.length && Buffer.compare(key.subarray(0, prefix.length), prefix) === 0;
}
