/**
 * Checks of `runStm`'s arguments: each failure is an InvalidArgumentError naming the argument.
 */
import type { Client } from '../../client.js';
import { toKey } from '../../bytes.js';
import { describeInput, InvalidArgumentError } from '../../errors.js';
import { checkOptions } from '../../kv/args.js';
import { optionalSignal } from '../../lease/args.js';
import type { StmIsolation, StmOptions } from './types.js';

/** Attempts after the first, by default. */
export const defaultMaxRetries = 50;

const isolations: readonly StmIsolation[] = ['serializable-snapshot', 'serializable', 'repeatable-reads', 'read-committed'];
const known = ['isolation', 'maxRetries', 'signal', 'prefetch'];

/** `runStm`'s options after validation and defaults. */
export interface ResolvedStmOptions {
  readonly isolation: StmIsolation;
  readonly maxRetries: number;
  readonly signal: AbortSignal | undefined;
  readonly prefetch: readonly Uint8Array[];
}

/** @throws InvalidArgumentError naming the argument at fault. */
export function checkClient(client: unknown): Client {
  const kv = (client as { kv?: { txn?: unknown; get?: unknown } } | null | undefined)?.kv;
  if (typeof kv?.txn !== 'function' || typeof kv.get !== 'function') {
    throw new InvalidArgumentError('client', `expected an etcdkit Client, got ${describeInput(client)}`);
  }
  return client as Client;
}

/** @throws InvalidArgumentError naming the option at fault. */
export function parseStmOptions(options: StmOptions | undefined): ResolvedStmOptions {
  checkOptions(options);
  const given = (options ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!known.includes(name) && given[name] !== undefined) {
      throw new InvalidArgumentError(`options.${name}`, `unknown option (expected ${known.join(', ')})`);
    }
  }
  const isolation = given.isolation ?? 'serializable-snapshot';
  if (!isolations.includes(isolation as StmIsolation)) {
    const names = isolations.map((name) => `"${name}"`).join(', ');
    throw new InvalidArgumentError('options.isolation', `expected one of ${names}, got ${describeInput(isolation)}`);
  }
  const maxRetries = given.maxRetries ?? defaultMaxRetries;
  if (typeof maxRetries !== 'number' || !Number.isSafeInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidArgumentError('options.maxRetries', `expected a non-negative integer, got ${describeInput(maxRetries)}`);
  }
  const prefetch = given.prefetch ?? [];
  if (!Array.isArray(prefetch)) {
    throw new InvalidArgumentError('options.prefetch', `expected an array of keys, got ${describeInput(prefetch)}`);
  }
  return {
    isolation: isolation as StmIsolation,
    maxRetries,
    signal: optionalSignal(given.signal),
    prefetch: prefetch.map((key: unknown, i) => toKey(key as string, `options.prefetch[${i}]`)),
  };
}
