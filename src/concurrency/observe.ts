/**
 * Following an election's leader (Go's `Election.Observe`, `etcdctl elect -l`): read the
 * oldest key under the prefix; if there is none, wait for the first put under it; report it,
 * then every put to it (proclaimed values) until it is deleted; repeat. Watches are
 * persistent, so the observer survives reconnects; after a compaction it re-reads.
 */
import type { Bytes } from '../bytes.js';
import type { Client } from '../client.js';
import type { KeyValue } from '../convert.js';
import { ClientClosedError, InvalidArgumentError } from '../errors.js';
import { parseOptions } from './args.js';
import { firstCreate, recipeKeys, sameBytes } from './keys.js';

/** Options of {@link ElectionObserver}. */
export interface ObserveOptions {
  /** Aborting ends the observation: the iterator completes. */
  signal?: AbortSignal;
}

/**
 * The leaders of an election as they change: each new leader's key-value, then each value
 * it proclaims. Iterate it once (`for await`); leaving the loop, `cancel()` or the signal
 * ends it cleanly, as does closing the client. Like Go's, it always reports the latest
 * leader value, not necessarily every intermediate one. It needs no session: anyone can
 * observe. A failure (e.g. permission denied) is thrown by the iterator as a typed error.
 */
export class ElectionObserver implements AsyncIterable<KeyValue> {
  readonly #client: Client;
  readonly #prefix: Uint8Array;
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  #iterated = false;
  #ended = false;

  /** @throws InvalidArgumentError for an empty prefix or bad options. */
  constructor(client: Client, prefix: Bytes, options?: ObserveOptions) {
    const { signal } = parseOptions(options, ['signal']);
    this.#client = client;
    this.#prefix = recipeKeys(prefix, 0n).prefix;
    const abort = () => this.cancel();
    if (signal?.aborted === true) this.cancel();
    signal?.addEventListener('abort', abort, { once: true });
    this.#unlink = () => signal?.removeEventListener('abort', abort);
  }

  /** True once the observation has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the observation: the iterator completes (after the item it may be delivering). Idempotent. */
  cancel(): void {
    this.#ended = true;
    this.#unlink?.();
    this.#controller.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<KeyValue> {
    if (this.#iterated) throw new InvalidArgumentError('observer', 'an ElectionObserver can be iterated only once');
    this.#iterated = true;
    const inner = follow(this.#client, this.#prefix, this.#controller.signal);
    const end = () => {
      if (!this.#ended) this.cancel();
    };
    return {
      next: async () => {
        try {
          const result = await inner.next();
          if (result.done === true) end();
          return result;
        } catch (error) {
          end();
          throw error;
        }
      },
      return: async () => {
        end();
        await inner.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }
}

async function* follow(client: Client, prefix: Uint8Array, signal: AbortSignal): AsyncGenerator<KeyValue, void> {
  let last: KeyValue | undefined;
  const fresh = (kv: KeyValue): boolean => {
    const stale = last !== undefined && sameBytes(kv.key, last.key) && kv.createRevision === last.createRevision && kv.modRevision <= last.modRevision;
    if (!stale) last = kv;
    return !stale;
  };
  try {
    // One round per leader term, until the signal aborts (or the client closes: the read throws).
    while (!signal.aborted) {
      const read = await client.kv.get(prefix, { ...firstCreate, signal });
      let leader: KeyValue | undefined = read.kvs[0];
      let from = read.header.revision + 1n;
      if (leader === undefined) {
        leader = await firstPut(client, prefix, from, signal);
        if (leader === undefined) continue; // compaction or end: read again (the loop checks the signal)
        from = leader.modRevision + 1n;
      }
      if (fresh(leader)) yield leader;
      const watch = client.watch(leader.key, { startRevision: from, signal, onCompacted: 'resync' });
      for await (const item of watch) {
        if (item.type === 'delete') break;
        if (item.type === 'put') {
          if (fresh(item.kv)) yield item.kv;
        } else if (item.type === 'resync') {
          const current = item.kvs[0];
          if (current === undefined || current.createRevision !== leader.createRevision) break;
          if (fresh(current)) yield current;
        }
      }
    }
  } catch (error) {
    if (signal.aborted || error instanceof ClientClosedError) return;
    throw error;
  }
}

/** The first key put under `prefix` from revision `from` on; `undefined` after a compaction or when the watch ends. */
async function firstPut(client: Client, prefix: Uint8Array, from: bigint, signal: AbortSignal): Promise<KeyValue | undefined> {
  const watch = client.watch(prefix, { prefix: true, startRevision: from, filters: { noDelete: true }, signal, onCompacted: 'resync' });
  for await (const item of watch) {
    if (item.type === 'put') return item.kv;
    if (item.type === 'resync') return undefined;
  }
  return undefined;
}
