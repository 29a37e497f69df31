import { z } from 'zod';
import { systemClock, type Clock } from './clock.js';

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Address to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port to listen on; 0 picks a free port. Default 0. */
  port?: number;
  /** Member name shown by MemberList (etcd's `--name`). Default `'default'`. */
  name?: string;
  /**
   * The time source for lease expiry and other timers. Default: real time. Pass a
   * `ManualClock` to drive time from a test.
   */
  clock?: Clock;
  /** Minimum lease TTL in whole seconds; shorter grants are raised to it. Default 2 (etcd's). */
  minLeaseTtl?: number;
  /**
   * Watch progress notify interval in milliseconds (etcd's
   * `--experimental-watch-progress-notify-interval`); values below 100 are raised to 100.
   * Default 600000 (10 min). Each watch stream adds up to 10 % jitter.
   */
  watchProgressNotifyInterval?: number;
}

/** Server options after validation and defaults. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly clock: Clock;
  readonly minLeaseTtl: number;
  readonly watchProgressNotifyInterval?: number | undefined;
}

/** How a bad value is shown in an error message. */
export const describe = (v: unknown): string =>
  v === undefined ? 'undefined' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? (v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object') : `${typeof v} ${String(v)}`;

function isClock(v: unknown): v is Clock {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c.now === 'function' && typeof c.setTimer === 'function' && typeof c.clearTimer === 'function';
}

/** An integer schema whose every failure reads `expected <what>, got <value>`. */
export function integer(what: string, min: number, max: number): z.ZodNumber {
  const error = (i: { input: unknown }): string => `expected ${what}, got ${describe(i.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A port number (0 = a free one). */
export const portSchema = (): z.ZodNumber => integer('an integer from 0 to 65535', 0, 65535);

/** Field schemas shared by startServer and startCluster. */
export const commonFields = {
  host: z
    .string({ error: (i) => `expected a host name or IP address, got ${describe(i.input)}` })
    .min(1, { error: 'expected a host name or IP address, got ""' })
    .default('127.0.0.1'),
  clock: z
    .custom<Clock>(isClock, { error: (i) => `expected a Clock (now, setTimer, clearTimer), got ${describe(i.input)}` })
    .default(() => systemClock),
  minLeaseTtl: z
    .number({ error: (i) => `expected a whole number of seconds >= 1, got ${describe(i.input)}` })
    .int({ error: (i) => `expected a whole number of seconds >= 1, got ${describe(i.input)}` })
    .min(1, { error: (i) => `expected a whole number of seconds >= 1, got ${describe(i.input)}` })
    .max(9000000000, { error: (i) => `expected a whole number of seconds <= 9000000000, got ${describe(i.input)}` })
    .default(2),
  watchProgressNotifyInterval: z
    .number({ error: (i) => `expected a number of milliseconds > 0, got ${describe(i.input)}` })
    .positive({ error: (i) => `expected a number of milliseconds > 0, got ${describe(i.input)}` })
    .optional(),
};

const serverOptionsSchema = z.strictObject({
  host: commonFields.host,
  port: portSchema().default(0),
  name: z.string({ error: (i) => `expected a string, got ${describe(i.input)}` }).default('default'),
  clock: commonFields.clock,
  minLeaseTtl: commonFields.minLeaseTtl,
  watchProgressNotifyInterval: commonFields.watchProgressNotifyInterval,
});

/**
 * Validates `input` against an options schema.
 * @param fn the public function named in errors (`startServer`)
 * @throws TypeError naming the bad option.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, fn: string, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(schema.shape).join(', ');
    throw new TypeError(`${fn}: unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')} (known options: ${known})`);
  }
  if (issue.path.length === 0) throw new TypeError(`${fn}: expected an options object, got ${describe(input)}`);
  throw new TypeError(`${fn}: invalid option "${issue.path.map(String).join('.')}": ${issue.message}`);
}

/**
 * Validates server options and fills in defaults.
 * @throws TypeError naming the bad option.
 */
export function parseServerOptions(input: unknown): ResolvedServerOptions {
  return parseOptions(serverOptionsSchema, 'startServer', input);
}
