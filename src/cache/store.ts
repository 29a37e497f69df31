/**
 * The cache's state: valid entries and invalid keys by key bytes, and how puts, deletes and
 * a full re-read change them. Pure bookkeeping: it returns what happened and reports nothing.
 */
import type { KeyValue } from '../convert.js';
import { keyId, ownedKeyValue } from './decode.js';
import type { Decoder } from './decode.js';
import type { CacheChange, CacheEntry, InvalidEntry } from './types.js';

/** Something to report after a revision was applied. */
export type Effect<T> = { readonly kind: 'change'; readonly change: CacheChange<T> } | { readonly kind: 'invalid'; readonly entry: InvalidEntry };

/** Entries and invalid keys of a prefix at one revision. */
export class CacheStore<T> {
  readonly #decode: Decoder<T>;
  readonly entries = new Map<string, CacheEntry<T>>();
  readonly invalid = new Map<string, InvalidEntry>();

  constructor(decode: Decoder<T>) {
    this.#decode = decode;
  }

  /** Applies a put of `kv` at `revision`, appending what changed to `out`. */
  put(stored: KeyValue, revision: bigint, out: Effect<T>[]): void {
    const kv = ownedKeyValue(stored);
    const id = keyId(kv.key);
    const key = kv.keyText;
    const previous = this.entries.get(id);
    const decoded = this.#decode(kv);
    if (decoded.ok) {
      this.invalid.delete(id);
      const entry: CacheEntry<T> = { key, value: decoded.value, kv };
      this.entries.set(id, entry);
      const change: CacheChange<T> =
        previous === undefined
          ? { type: 'added', key, entry, revision }
          : { type: 'updated', key, entry, previous, revision };
      out.push({ kind: 'change', change });
      return;
    }
    const invalid: InvalidEntry = { key, kv, error: decoded.error, revision };
    this.invalid.set(id, invalid);
    if (previous !== undefined) {
      this.entries.delete(id);
      out.push({ kind: 'change', change: { type: 'removed', key, previous, revision } });
    }
    out.push({ kind: 'invalid', entry: invalid });
  }

  /** Applies a delete of `key` at `revision`. */
  delete(key: Uint8Array, revision: bigint, out: Effect<T>[]): void {
    const id = keyId(key);
    this.invalid.delete(id);
    const previous = this.entries.get(id);
    if (previous === undefined) return;
    this.entries.delete(id);
    out.push({ kind: 'change', change: { type: 'removed', key: previous.key, previous, revision } });
  }

  /**
   * Replaces the whole state with `kvs` read at `revision`, reporting the difference: keys
   * gone are removed, new ones added, and keys whose modification revision differs updated.
   */
  replace(kvs: readonly KeyValue[], revision: bigint, out: Effect<T>[]): void {
    const present = new Set<string>();
    for (const kv of kvs) {
      const id = keyId(kv.key);
      present.add(id);
      const known = this.entries.get(id)?.kv ?? this.invalid.get(id)?.kv;
      if (known !== undefined && known.modRevision === kv.modRevision) continue; // unchanged
      this.put(kv, revision, out);
    }
    for (const [id, entry] of [...this.entries]) {
      if (!present.has(id)) this.delete(entry.kv.key, revision, out);
    }
    for (const id of [...this.invalid.keys()]) {
      if (!present.has(id)) this.invalid.delete(id);
    }
  }
}
