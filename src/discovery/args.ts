/**
 * Checks of caller input for registration and discovery; each failure is an
 * InvalidArgumentError naming the argument.
 */
import type { ZodType } from 'zod';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkSchema } from '../cache/args.js';
import { encodeEndpoint } from './endpoint-json.js';
import type { RegistrationRetry } from './types.js';

/** Checks a service name: a non-empty string not ending with `/` (keys are `<service>/<addr>`). */
export function checkService(service: unknown): asserts service is string {
  if (typeof service !== 'string' || service === '') {
    throw new InvalidArgumentError('service', `expected a non-empty string, got ${describeInput(service)}`);
  }
  if (service.endsWith('/')) {
    throw new InvalidArgumentError(
      'service',
      `must not end with "/" (keys are "<service>/<addr>"; use ${JSON.stringify(service.replace(/\/+$/, ''))}), got ${JSON.stringify(service)}`,
    );
  }
}

/**
 * Checks an endpoint and returns its stored JSON value, validating the metadata with `schema`
 * (whose output is what is stored).
 */
export function endpointValue(endpoint: unknown, schema: ZodType | undefined): { addr: string; value: string } {
  if (endpoint === null || typeof endpoint !== 'object') {
    throw new InvalidArgumentError('endpoint', `expected { addr, metadata? }, got ${describeInput(endpoint)}`);
  }
  const { addr, metadata } = endpoint as { addr?: unknown; metadata?: unknown };
  if (typeof addr !== 'string' || addr === '') {
    throw new InvalidArgumentError('endpoint.addr', `expected a non-empty string such as "10.0.0.5:8080", got ${describeInput(addr)}`);
  }
  let stored = metadata;
  if (schema !== undefined) {
    checkSchema(schema, 'options.metadataSchema');
    const result = schema.safeParse(metadata);
    if (!result.success) {
      const issues = result.error.issues
        .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`))
        .join('; ');
      throw new InvalidArgumentError('endpoint.metadata', `does not match options.metadataSchema: ${issues}`);
    }
    stored = result.data;
  }
  return { addr, value: encodeEndpoint(addr, stored) };
}

/** Checks a TTL in whole seconds (default `fallback`). */
export function checkTtl(ttl: unknown, fallback: number): number {
  if (ttl === undefined) return fallback;
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1) {
    throw new InvalidArgumentError('options.ttl', `expected a positive integer number of seconds, got ${describeInput(ttl)}`);
  }
  return ttl;
}

/** Backoff bounds with defaults applied. */
export interface RetryBounds {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/** Default backoff bounds of re-registration. */
export const defaultRetry: RetryBounds = { minDelayMs: 100, maxDelayMs: 5000 };

/** Checks the backoff bounds. */
export function checkRetry(retry: RegistrationRetry | undefined): RetryBounds {
  if (retry === undefined) return defaultRetry;
  if (retry === null || typeof retry !== 'object') {
    throw new InvalidArgumentError('options.retry', `expected { minDelayMs?, maxDelayMs? }, got ${describeInput(retry)}`);
  }
  const ms = (value: unknown, name: string, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > 600_000) {
      throw new InvalidArgumentError(`options.retry.${name}`, `expected a number of milliseconds from 1 to 600000, got ${describeInput(value)}`);
    }
    return value;
  };
  const minDelayMs = ms(retry.minDelayMs, 'minDelayMs', defaultRetry.minDelayMs);
  const maxDelayMs = ms(retry.maxDelayMs, 'maxDelayMs', Math.max(minDelayMs, defaultRetry.maxDelayMs));
  if (maxDelayMs < minDelayMs) {
    throw new InvalidArgumentError('options.retry', `maxDelayMs (${maxDelayMs}) must not be below minDelayMs (${minDelayMs})`);
  }
  return { minDelayMs, maxDelayMs };
}
