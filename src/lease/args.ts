/**
 * Checks of caller input for the lease API; each failure is an InvalidArgumentError naming
 * the argument.
 */
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkOptions, toInt64 } from '../kv/args.js';
import type { Int64 } from '../kv/types.js';

export { checkOptions };

/**
 * A lease TTL in seconds: a positive integer (`number` or `bigint`).
 * @throws InvalidArgumentError naming `argument`.
 */
export function toTtl(value: Int64, argument = 'ttl'): bigint {
  return toInt64(value, argument, 1n);
}

/**
 * A lease ID: a 64-bit integer (`bigint` or safe-integer `number`).
 * @throws InvalidArgumentError naming `argument`.
 */
export function toLeaseId(value: Int64, argument = 'id'): bigint {
  return toInt64(value, argument);
}

/**
 * An optional AbortSignal.
 * @throws InvalidArgumentError when present and not an AbortSignal.
 */
export function optionalSignal(value: unknown, argument = 'options.signal'): AbortSignal | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof AbortSignal) return value;
  throw new InvalidArgumentError(argument, `expected an AbortSignal, got ${describeInput(value)}`);
}

/**
 * An optional positive number of milliseconds.
 * @throws InvalidArgumentError when present and not positive.
 */
export function optionalMs(value: unknown, argument: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && value > 0 && value <= 2_147_483_647) return value;
  throw new InvalidArgumentError(argument, `expected a number of milliseconds from 1 to 2147483647, got ${describeInput(value)}`);
}
