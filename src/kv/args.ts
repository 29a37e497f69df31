/**
 * Checks of caller input for the KV API: each failure is an InvalidArgumentError naming the
 * argument and what was expected. Cheap enough for the hot path (no zod here).
 */
import { describeInput, InvalidArgumentError } from '../errors.js';
import type { Int64 } from './types.js';

const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

/**
 * A 64-bit integer from a `bigint` or a safe-integer `number`, at least `min`.
 * @throws InvalidArgumentError naming `argument`.
 */
export function toInt64(value: Int64, argument: string, min: bigint = int64Min): bigint {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= min) return BigInt(value);
  } else if (typeof value === 'bigint') {
    if (value >= min && value <= int64Max) return value;
  }
  const range = min === 0n ? 'a non-negative' : min === 1n ? 'a positive' : 'a 64-bit';
  throw new InvalidArgumentError(
    argument,
    `expected ${range} integer (safe-integer number or bigint), got ${describeInput(value)}`,
  );
}

/**
 * An optional boolean flag.
 * @throws InvalidArgumentError when present and not a boolean.
 */
export function optionalFlag(value: unknown, argument: string): boolean {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  throw new InvalidArgumentError(argument, `expected a boolean, got ${describeInput(value)}`);
}

/** Picks a value from a string enumeration, or throws naming the argument and the choices. */
export function oneOf<T extends string>(value: unknown, choices: Readonly<Record<T, number>>, argument: string): number {
  if (typeof value === 'string' && Object.hasOwn(choices, value)) return choices[value as T];
  const names = Object.keys(choices)
    .map((name) => `"${name}"`)
    .join(', ');
  throw new InvalidArgumentError(argument, `expected one of ${names}, got ${describeInput(value)}`);
}

/**
 * Checks that an options argument is an object (or absent).
 * @throws InvalidArgumentError naming `options`.
 */
export function checkOptions(options: unknown): void {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidArgumentError('options', `expected an options object, got ${describeInput(options)}`);
  }
}
