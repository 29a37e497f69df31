/**
 * Typed configuration: one JSON object per key under a prefix, validated by a zod schema and
 * kept current by a prefix cache. A value that fails validation is reported and does NOT
 * replace the last good one, so a bad write never takes a setting away from the program.
 */
import type { ZodType } from 'zod';
import { bytesToText, toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import type { Client } from '../client.js';
import type { KeyValue } from '../convert.js';
import { ValueDecodeError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { checkOptions, optionalSignal } from '../lease/args.js';
import { checkClient, checkSchema } from './args.js';
import { Listeners } from './listeners.js';
import { PrefixCache } from './prefix-cache.js';
import type { CacheChange, CacheState } from './types.js';

/** A setting changed: stored and valid (`value`), or its key was deleted (`value` undefined). */
export interface ConfigChange<T> {
  /** The setting's name: its key without the prefix. */
  readonly name: string;
  /** The full key. */
  readonly key: string;
  /** The new value; `undefined` when the key was deleted. */
  readonly value: T | undefined;
  /** The value in use before; `undefined` when there was none. */
  readonly previous: T | undefined;
  readonly revision: bigint;
}

/** A stored value failed validation; the last good value (if any) stays in use. */
export interface ConfigInvalid<T> {
  readonly name: string;
  readonly key: string;
  /** What is wrong (names the key and the failed fields). */
  readonly error: ValueDecodeError;
  /** The value still in use (the last good one), or `undefined` when there never was one. */
  readonly kept: T | undefined;
  readonly revision: bigint;
}

/** Listener signatures of a {@link ConfigWatcher}. */
export interface ConfigEvents<T> {
  /** A setting got a new valid value, or was deleted. The first read reports every valid setting. */
  change: (change: ConfigChange<T>) => void;
  /** A stored value is invalid; the last good value is kept. */
  invalid: (invalid: ConfigInvalid<T>) => void;
  /** The connection broke; values are current as of `revision` and catch up by themselves. */
  disconnected: (error: EtcdError) => void;
  /** Following changes again after a disconnection. */
  reconnected: () => void;
  /** The watcher failed for good (state `failed`); values stay as they were. */
  error: (error: EtcdError) => void;
}

/** Options of {@link watchConfig}. */
export interface WatchConfigOptions {
  /** Aborting closes the watcher. */
  signal?: AbortSignal;
}

const eventNames = ['change', 'invalid', 'disconnected', 'reconnected', 'error'] as const;

/**
 * Validated, always-current configuration under a prefix: one setting per key, named by the
 * key without the prefix. Create it with {@link watchConfig}.
 */
export class ConfigWatcher<T> {
  /** The watched prefix, as text. */
  readonly prefix: string;
  readonly #prefixLength: number;
  readonly #schema: ZodType<T>;
  readonly #cache: PrefixCache<KeyValue>;
  readonly #values = new Map<string, T>();
  readonly #errors = new Map<string, ValueDecodeError>();
  readonly #listeners = new Listeners<ConfigEvents<T>>(eventNames, 'config watcher');

  /** @internal Use {@link watchConfig}. */
  constructor(client: Client, prefix: Uint8Array, schema: ZodType<T>, signal: AbortSignal | undefined) {
    this.prefix = bytesToText(prefix);
    this.#prefixLength = prefix.length;
    this.#schema = schema;
    // The cache keeps raw key-values; validation (and keeping the last good value) happens here.
    this.#cache = new PrefixCache<KeyValue>(client, prefix, { decode: (kv) => kv, signal });
    this.#cache
      .on('change', (change) => this.#apply(change))
      .on('disconnected', (error) => this.#listeners.emit('disconnected', error))
      .on('reconnected', () => this.#listeners.emit('reconnected', undefined))
      .on('error', (error) => this.#listeners.emit('error', error));
    this.#cache.start();
  }

  /** Resolves once the first read is applied and changes are followed; rejects like a cache's `ready`. */
  get ready(): Promise<void> {
    return this.#cache.ready;
  }

  /** `loading`, `live`, `failed` or `closed`. */
  get state(): CacheState {
    return this.#cache.state;
  }

  /** The revision the settings reflect. */
  get revision(): bigint {
    return this.#cache.revision;
  }

  /** Why the watcher failed (state `failed`). */
  get error(): EtcdError | undefined {
    return this.#cache.error;
  }

  /** The value in use for setting `name` (the last good one), or `undefined`. */
  get(name: string): T | undefined {
    return this.#values.get(name);
  }

  /** Every setting in use, by name (a copy, in name order). */
  values(): Map<string, T> {
    return new Map([...this.#values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Settings whose stored value is invalid now, by name (their last good value, if any, is in use). */
  errors(): Map<string, ValueDecodeError> {
    return new Map(this.#errors);
  }

  /**
   * Adds a listener (see {@link ConfigEvents}); one that throws becomes a process warning.
   * @throws InvalidArgumentError for an unknown event name.
   */
  on<K extends keyof ConfigEvents<T>>(event: K, listener: ConfigEvents<T>[K]): this {
    this.#listeners.on(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof ConfigEvents<T>>(event: K, listener: ConfigEvents<T>[K]): this {
    this.#listeners.off(event, listener);
    return this;
  }

  /** Stops following changes; values stay readable. Idempotent; never rejects. */
  close(): Promise<void> {
    this.#listeners.clear();
    return this.#cache.close();
  }

  #apply(change: CacheChange<KeyValue>): void {
    const kv = change.type === 'removed' ? change.previous.kv : change.entry.kv;
    const name = bytesToText(kv.key.subarray(this.#prefixLength));
    const key = change.key;
    const previous = this.#values.get(name);
    const revision = change.revision;
    if (change.type === 'removed') {
      this.#errors.delete(name);
      if (!this.#values.delete(name)) return;
      this.#listeners.emit('change', { name, key, value: undefined, previous, revision });
      return;
    }
    let value: T;
    try {
      value = kv.json(this.#schema);
    } catch (error) {
      const decodeError = error instanceof ValueDecodeError ? error : new ValueDecodeError(kv.key, key, String(error), error);
      this.#errors.set(name, decodeError);
      this.#listeners.emit('invalid', { name, key, error: decodeError, kept: previous, revision });
      return;
    }
    this.#errors.delete(name);
    this.#values.set(name, value);
    this.#listeners.emit('change', { name, key, value, previous, revision });
  }
}

/**
 * Watches the settings under `prefix`: each key holds one JSON value validated by `schema`,
 * named by the key without the prefix. Invalid values are reported (`invalid` event,
 * {@link ConfigWatcher.errors}) and the last good value stays in use.
 *
 * ```ts
 * const config = watchConfig(client, 'config/app/', z.object({ poolSize: z.number().int() }));
 * await config.ready;
 * config.get('db')?.poolSize;
 * config.on('change', ({ name, value }) => reconfigure(name, value));
 * ```
 *
 * @throws InvalidArgumentError naming the argument at fault.
 */
export function watchConfig<T>(client: Client, prefix: Bytes, schema: ZodType<T>, options?: WatchConfigOptions): ConfigWatcher<T> {
  checkClient(client);
  const bytes = toBytes(prefix, 'prefix');
  checkSchema(schema, 'schema');
  checkOptions(options);
  const signal = optionalSignal(options?.signal);
  return new ConfigWatcher(client, bytes, schema, signal);
}
