/**
 * Checks of caller input for the cache and the configuration watcher; each failure is an
 * InvalidArgumentError naming the argument.
 */
import { toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import { Client } from '../client.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkOptions, optionalSignal } from '../lease/args.js';
import type { CacheOptions } from './types.js';

/** Checks the client argument. */
export function checkClient(client: unknown): asserts client is Client {
  if (!(client instanceof Client)) throw new InvalidArgumentError('client', `expected an etcdkit Client, got ${describeInput(client)}`);
}

/** Checks a zod schema argument (anything with `safeParse`). */
export function checkSchema(schema: unknown, argument: string): void {
  const safeParse = (schema as { safeParse?: unknown } | null)?.safeParse;
  if (schema === null || typeof schema !== 'object' || typeof safeParse !== 'function') {
    throw new InvalidArgumentError(argument, `expected a zod schema, got ${describeInput(schema)}`);
  }
}

/** The checked arguments of `createCache`. */
export interface CheckedCacheArgs<T> {
  prefix: Uint8Array;
  options: CacheOptions<T>;
}

/** Checks the arguments of `createCache`. */
export function checkCacheArgs<T>(client: unknown, prefix: Bytes, options: CacheOptions<T> | undefined): CheckedCacheArgs<T> {
  checkClient(client);
  const bytes = toBytes(prefix, 'prefix');
  checkOptions(options);
  const { schema, decode } = options ?? {};
  if (schema !== undefined) checkSchema(schema, 'options.schema');
  if (decode !== undefined && typeof decode !== 'function') {
    throw new InvalidArgumentError('options.decode', `expected a function, got ${describeInput(decode)}`);
  }
  if (schema !== undefined && decode !== undefined) {
    throw new InvalidArgumentError('options', 'schema and decode are mutually exclusive');
  }
  const signal = optionalSignal(options?.signal);
  return { prefix: bytes, options: { schema, decode, signal } };
}
