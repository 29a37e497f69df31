/**
 * Client options: the public shape, their zod schema, and parsing into a resolved form.
 * zod runs once per client construction, never per call.
 */
import { z } from 'zod';
import { describeInput, InvalidArgumentError } from './errors.js';

/** Options of {@link Client}. */
export interface ClientOptions {
  /**
   * etcd endpoints: `"host:port"` or `"http://host:port"` (IPv6 as `"[::1]:2379"`).
   * A single string is accepted for one endpoint.
   */
  endpoints: readonly string[] | string;
  /** How long a call waits for a connection to some endpoint before failing. Default 5000 ms. */
  dialTimeoutMs?: number;
  /** Default deadline of every call, unless the call passes its own `timeoutMs`. Default 30000 ms. */
  timeoutMs?: number;
  /**
   * Interval of HTTP/2 keepalive pings while calls or streams are active (never without).
   * Default 10000 ms, which is also the minimum: etcd closes connections that ping more often
   * than every 5 s (GOAWAY `too_many_pings`).
   */
  keepaliveTimeMs?: number;
  /** How long to wait for a keepalive ping's answer before dropping the connection. Default 5000 ms. */
  keepaliveTimeoutMs?: number;
  /**
   * How long an endpoint may leave a call unanswered before it counts as hung. After half of
   * it (with nothing else heard from the endpoint) the endpoint is probed; if the probe is not
   * answered either, the endpoint is set aside (no new calls until a probe answers), reads
   * waiting on it are retried on another endpoint, writes waiting on it fail with
   * `mayHaveBeenApplied`, and its watch and keepalive streams move to another endpoint, as long
   * as another healthy endpoint is connected. Default 1000 ms, at least 100. See docs/failover.md.
   */
  unresponsiveMs?: number;
  /**
   * Refresh the endpoint list from the cluster's member list at this interval (the client
   * URLs of started voting members). 0 (default) turns it off. The list never becomes empty.
   */
  autoSyncIntervalMs?: number;
}

/** Per-call options every client call accepts. */
export interface CallOptions {
  /** Aborts the call; it then rejects with a `CancelledError`. */
  signal?: AbortSignal;
  /** Deadline of this call in milliseconds (overrides the client's `timeoutMs`). */
  timeoutMs?: number;
}

/** One parsed endpoint. */
export interface Endpoint {
  /** `host:port` as gRPC dials it (`[::1]:2379` for IPv6). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/** Client options after validation and defaults. */
export interface ResolvedClientOptions {
  readonly endpoints: readonly Endpoint[];
  readonly dialTimeoutMs: number;
  readonly timeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly unresponsiveMs: number;
  /** 0 when off. */
  readonly autoSyncIntervalMs: number;
}

/** Defaults, in milliseconds. */
export const defaultClientOptions = {
  dialTimeoutMs: 5_000,
  timeoutMs: 30_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
  unresponsiveMs: 1_000,
  autoSyncIntervalMs: 0,
} as const;

/** Smallest `unresponsiveMs` accepted (below it, ordinary scheduling delays would look like hangs). */
export const minUnresponsiveMs = 100;

/** Smallest non-zero `autoSyncIntervalMs` accepted. */
export const minAutoSyncIntervalMs = 100;

/** Smallest keepalive interval allowed (etcd enforces >= 5 s; grpc-go clamps to 10 s). */
export const minKeepaliveTimeMs = 10_000;

/** Largest timer value node accepts (about 24.8 days). */
const maxTimerMs = 2_147_483_647;

const endpointShape = 'expected "host:port" or "http://host:port"';

const hostPattern = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)$/;

/** Parses one endpoint string; returns a problem description when it is not acceptable. */
export function parseEndpoint(text: string): Endpoint | string {
  let rest = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name === 'https' || name === 'unixs') {
      return `TLS endpoints are not supported yet; use "host:port" or "http://host:port", got ${JSON.stringify(text)}`;
    }
    if (name !== 'http') return `unsupported scheme "${name}://": ${endpointShape}, got ${JSON.stringify(text)}`;
    rest = rest.slice(scheme[0].length);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
  }
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return `${endpointShape}, got ${JSON.stringify(text)}`;
  const host = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (!hostPattern.test(host) || !/^\d{1,5}$/.test(portText)) return `${endpointShape}, got ${JSON.stringify(text)}`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port must be 1-65535, got ${JSON.stringify(text)}`;
  return { address: `${host}:${port}`, host, port };
}

function milliseconds(min: number) {
  const problem = (issue: { input?: unknown }) =>
    `expected an integer number of milliseconds from ${min} to ${maxTimerMs}, got ${describeInput(issue.input)}`;
  return z.number({ error: problem }).int({ error: problem }).min(min, { error: problem }).max(maxTimerMs, { error: problem });
}

/** 0 (off) or an integer number of milliseconds from `min`. */
function intervalOrOff(min: number) {
  const problem = (issue: { input?: unknown }) =>
    `expected 0 (off) or an integer number of milliseconds from ${min} to ${maxTimerMs}, got ${describeInput(issue.input)}`;
  return z
    .number({ error: problem })
    .int({ error: problem })
    .max(maxTimerMs, { error: problem })
    .refine((n) => n === 0 || n >= min, { error: problem });
}

const endpointSchema = z.unknown().transform((value, ctx): Endpoint => {
  if (typeof value !== 'string') {
    ctx.issues.push({ code: 'custom', message: `${endpointShape}, got ${describeInput(value)}`, input: value });
    return z.NEVER;
  }
  const parsed = parseEndpoint(value);
  if (typeof parsed === 'string') {
    ctx.issues.push({ code: 'custom', message: parsed, input: value });
    return z.NEVER;
  }
  return parsed;
});

const endpointsSchema = z
  .union([z.string().transform((s) => [s]), z.array(z.unknown())], {
    error: (issue) => `expected an array of "host:port" strings, got ${describeInput(issue.input)}`,
  })
  .pipe(z.array(endpointSchema).min(1, { error: 'expected at least one endpoint' }))
  .superRefine((endpoints, ctx) => {
    const seen = new Map<string, number>();
    endpoints.forEach((endpoint, index) => {
      const first = seen.get(endpoint.address);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `duplicate of endpoints[${first}] (${JSON.stringify(endpoint.address)})`,
        });
      } else {
        seen.set(endpoint.address, index);
      }
    });
  });

/** The zod schema of {@link ClientOptions}; unknown options are rejected. */
const clientOptionsSchema = z.strictObject(
  {
    endpoints: endpointsSchema,
    dialTimeoutMs: milliseconds(1).default(defaultClientOptions.dialTimeoutMs),
    timeoutMs: milliseconds(1).default(defaultClientOptions.timeoutMs),
    keepaliveTimeMs: milliseconds(minKeepaliveTimeMs).default(defaultClientOptions.keepaliveTimeMs),
    keepaliveTimeoutMs: milliseconds(1).default(defaultClientOptions.keepaliveTimeoutMs),
    unresponsiveMs: milliseconds(minUnresponsiveMs).default(defaultClientOptions.unresponsiveMs),
    autoSyncIntervalMs: intervalOrOff(minAutoSyncIntervalMs).default(defaultClientOptions.autoSyncIntervalMs),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `expected an options object, got ${describeInput(issue.input)}` : undefined) },
);

const knownOptions = Object.keys(clientOptionsSchema.shape).join(', ');

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

/**
 * Validates client options and fills in defaults.
 * @throws InvalidArgumentError naming the option path and what was expected.
 */
export function parseClientOptions(input: unknown): ResolvedClientOptions {
  const result = clientOptionsSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue): [string, string] => {
    if (issue.code === 'unrecognized_keys') {
      return [issue.keys.join(', '), `unknown option (known options: ${knownOptions})`];
    }
    return [issue.path.length === 0 ? 'options' : formatPath(issue.path), issue.message];
  });
  const [argument, problem] = problems[0]!;
  const more = problems
    .slice(1)
    .map(([path, text]) => `; ${path}: ${text}`)
    .join('');
  throw new InvalidArgumentError(argument, problem + more);
}
