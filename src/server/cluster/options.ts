import { z } from 'zod';
import type { Clock } from '../clock.js';
import { commonFields, describe, integer, parseOptions, portSchema } from '../options.js';

/** The most members a simulated cluster may have. */
export const MAX_MEMBERS = 15;

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Number of members, 1 to 15. Default 3. */
  members?: number;
  /** Address every member listens on. Default `'127.0.0.1'`. */
  host?: string;
  /** Member `i` listens on `basePort + i`; 0 picks free ports. Default 0. Not with `ports`. */
  basePort?: number;
  /** The port of each member (0 = a free one), one per member. Not with `basePort`. */
  ports?: number[];
  /** Member names are `${name}-0`, `${name}-1`, ... Default `'member'`. */
  name?: string;
  /** The member elected first (its index). Default 0. */
  leader?: number;
  /**
   * How long a call that needs a leader waits on a member without one before it fails
   * (etcd's request timeout, about 7 s there). Default 5000.
   */
  requestTimeoutMs?: number;
  /**
   * How long a member without a leader keeps require-leader streams (`hasleader: true`)
   * open before cancelling them with `etcdserver: no leader` (etcd: 3 election timeouts,
   * 3 s by default). Default 300.
   */
  requireLeaderCancelMs?: number;
  /** The time source of lease expiry and watch progress (as for startServer). Default: real time. */
  clock?: Clock;
  /** Minimum lease TTL in whole seconds. Default 2. */
  minLeaseTtl?: number;
  /** Watch progress notify interval in ms (as for startServer). Default 600000. */
  watchProgressNotifyInterval?: number;
}

/** Cluster options after validation and defaults: one port per member. */
export interface ResolvedClusterOptions {
  readonly members: number;
  readonly host: string;
  readonly ports: readonly number[];
  readonly names: readonly string[];
  readonly leader: number;
  readonly requestTimeoutMs: number;
  readonly requireLeaderCancelMs: number;
  readonly clock: Clock;
  readonly minLeaseTtl: number;
  readonly watchProgressNotifyInterval?: number | undefined;
}

const ms = (what: string) => integer(what, 1, 2 ** 31 - 1);

const clusterOptionsSchema = z
  .strictObject({
    members: integer(`an integer from 1 to ${MAX_MEMBERS}`, 1, MAX_MEMBERS).default(3),
    host: commonFields.host,
    basePort: portSchema().optional(),
    ports: z.array(portSchema(), { error: (i) => `expected an array of ports, got ${describe(i.input)}` }).optional(),
    name: z
      .string({ error: (i) => `expected a non-empty string, got ${describe(i.input)}` })
      .min(1, { error: 'expected a non-empty string, got ""' })
      .default('member'),
    leader: integer('a member index', 0, MAX_MEMBERS - 1).default(0),
    requestTimeoutMs: ms('a whole number of milliseconds >= 1').default(5000),
    requireLeaderCancelMs: ms('a whole number of milliseconds >= 1').default(300),
    clock: commonFields.clock,
    minLeaseTtl: commonFields.minLeaseTtl,
    watchProgressNotifyInterval: commonFields.watchProgressNotifyInterval,
  })
  .superRefine((o, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (o.leader >= o.members) issue('leader', `expected a member index below ${o.members}, got ${o.leader}`);
    if (o.ports !== undefined && o.basePort !== undefined) issue('ports', 'give either "ports" or "basePort", not both');
    if (o.ports !== undefined && o.ports.length !== o.members) {
      issue('ports', `expected ${o.members} ports (one per member), got ${o.ports.length}`);
    }
    const fixed = (o.ports ?? []).filter((p) => p !== 0);
    if (new Set(fixed).size !== fixed.length) issue('ports', `expected distinct ports, got ${JSON.stringify(o.ports)}`);
    if (o.basePort !== undefined && o.basePort !== 0 && o.basePort + o.members - 1 > 65535) {
      issue('basePort', `expected a port such that basePort + ${o.members - 1} <= 65535, got ${o.basePort}`);
    }
  });

/**
 * Validates cluster options and fills in defaults.
 * @throws TypeError naming the bad option.
 */
export function parseClusterOptions(input: unknown): ResolvedClusterOptions {
  const o = parseOptions(clusterOptionsSchema, 'startCluster', input);
  const indexes = Array.from({ length: o.members }, (_, i) => i);
  const ports = o.ports ?? indexes.map((i) => (o.basePort === undefined || o.basePort === 0 ? 0 : o.basePort + i));
  return {
    members: o.members,
    host: o.host,
    ports,
    names: indexes.map((i) => `${o.name}-${i}`),
    leader: o.leader,
    requestTimeoutMs: o.requestTimeoutMs,
    requireLeaderCancelMs: o.requireLeaderCancelMs,
    clock: o.clock,
    minLeaseTtl: o.minLeaseTtl,
    watchProgressNotifyInterval: o.watchProgressNotifyInterval,
  };
}
