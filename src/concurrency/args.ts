/**
 * Checks of the recipes' options: each failure is an InvalidArgumentError naming the option.
 * Unknown options are rejected, so a typo (`timeout` for `timeoutMs`) does not pass silently.
 */
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkOptions, optionalMs, optionalSignal } from '../lease/args.js';
import { Session } from './session.js';

/** Validated wait options. */
export interface ParsedWait {
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
}

/**
 * Checks an options object: only `allowed` keys, and `signal` / `timeoutMs` well formed.
 * @throws InvalidArgumentError naming the option at fault.
 */
export function parseOptions(options: unknown, allowed: readonly string[]): ParsedWait & Record<string, unknown> {
  checkOptions(options);
  const given = (options ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!allowed.includes(name) && given[name] !== undefined) {
      throw new InvalidArgumentError(`options.${name}`, `unknown option (expected ${allowed.join(', ')})`);
    }
  }
  return {
    ...given,
    signal: allowed.includes('signal') ? optionalSignal(given.signal) : undefined,
    timeoutMs: allowed.includes('timeoutMs') ? optionalMs(given.timeoutMs, 'options.timeoutMs') : undefined,
  };
}

/**
 * An optional boolean option.
 * @throws InvalidArgumentError naming it.
 */
export function optionalBoolean(value: unknown, argument: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw new InvalidArgumentError(argument, `expected a boolean, got ${describeInput(value)}`);
}

/**
 * The session a recipe runs on, checked.
 * @throws InvalidArgumentError (naming `argument`) when it is not a Session.
 */
export function checkSession(session: unknown, argument = 'session'): Session {
  if (session instanceof Session) return session;
  throw new InvalidArgumentError(argument, `expected a Session from createSession(client), got ${describeInput(session)}`);
}
