/**
 * The failover group of the bench (`--only failover`): a real 3-member etcd cluster on loopback
 * (test/harness/real-cluster.ts), one member paused with SIGSTOP for 10 s and resumed with
 * SIGCONT, while a client runs a read loop, a write loop, a prefix watcher and a 5 s lease
 * (bench/failover-worker.ts). etcdkit and etcd3 run one after the other, each in its own process
 * and on its own fresh cluster, with the same member paused in the same role:
 *
 * * `follower`: member 0 (the first endpoint both clients are given) is paused while it is a
 *   follower (leadership is moved to member 1 first if member 0 leads);
 * * `leader`: member 0 is paused while it is the leader (leadership is moved to it first).
 *
 * Leadership is arranged with `etcdctl move-leader` and checked with `etcdctl endpoint status`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { etcdClusterAvailable, startRealCluster, type RealCluster } from '../test/harness/real-cluster.js';
import type { ClientId } from './clients.js';
import type { FailoverRaw } from './failover-worker.js';
import type { Target } from './report.js';
import { startBenchChild } from './watch-child.js';
import { row } from './table.js';

const run = promisify(execFile);
const ETCDCTL = '/usr/bin/etcdctl';
const WORKER = 'bench/failover-worker.ts';

export type FailoverCase = 'follower' | 'leader';
export const FAILOVER_CASES: readonly FailoverCase[] = ['follower', 'leader'];

export interface FailoverPlan {
  /** Loop time before the pause. */
  beforeSeconds: number;
  /** How long member 0 stays paused. */
  pauseSeconds: number;
  /** Loop time after the resume. */
  afterSeconds: number;
  /** Deadline of every read and write (also enforced from outside the client, +200 ms). */
  callTimeoutMs: number;
  leaseTtl: number;
}

export const FAILOVER_PLAN: FailoverPlan = { beforeSeconds: 5, pauseSeconds: 10, afterSeconds: 10, callTimeoutMs: 2000, leaseTtl: 5 };

/** The figures of one client in one case; times in ms. */
export interface FailoverMeasurement {
  /** Longest time between consecutive successful reads (the loop's start and end count as bounds). */
  readStallMs: number;
  /** When that longest read gap began, relative to the pause (negative: before it). */
  readStallAtMs: number;
  reads: number;
  readErrors: number;
  /** Longest time between consecutive acknowledged writes. */
  writeStallMs: number;
  writeStallAtMs: number;
  writesAcked: number;
  writesFailed: number;
  /**
   * From the pause to the first watch event for a write issued after the pause began (`null`:
   * none arrived).
   */
  watchResumeMs: number | null;
  /** Longest delay from a write's acknowledgement to its watch event, over acknowledged writes delivered. */
  watchMaxLagMs: number | null;
  /** Acknowledged writes whose key the watcher never delivered (after a 3 s drain). */
  watchLost: number;
  /** Keys the watcher delivered more than once. */
  watchDoubled: number;
  /** Failed (unacknowledged) writes the watcher delivered anyway (they were applied). */
  failedWritesDelivered: number;
  leaseLost: boolean;
  /** The lease's loss signal fired this long after the pause (if it did). */
  leaseLostAtMs: number | null;
  leaseTtlAtEnd: number | null;
  leaseSurvived: boolean;
  firstErrors: string[];
}

export interface FailoverCell {
  case: FailoverCase;
  client: ClientId;
  /** Member index that led before the pause, and whether the paused member (0) was it. */
  leaderBefore?: number;
  pausedMember: number;
  pausedWasLeader?: boolean;
  result?: FailoverMeasurement;
  error?: string;
}

export interface FailoverReport {
  date: string;
  plan: FailoverPlan;
  cluster: string;
  cells: FailoverCell[];
  targets: { readStall: Target; writeStall: Target; watch: Target; lease: Target };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface MemberStatus {
  endpoint: string;
  id: string;
  isLeader: boolean;
}

async function memberStatus(cluster: RealCluster): Promise<MemberStatus[]> {
  const { stdout } = await run(ETCDCTL, ['--endpoints', cluster.endpoints.join(','), '--command-timeout', '3s', 'endpoint', 'status', '-w', 'simple'], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 10_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const cols = l.split(',').map((c) => c.trim());
      return { endpoint: cols[0]!, id: cols[1]!, isLeader: cols[4] === 'true' };
    });
}

async function leaderIndex(cluster: RealCluster): Promise<number> {
  const status = await memberStatus(cluster);
  const leader = status.find((s) => s.isLeader);
  return leader ? cluster.endpoints.indexOf(leader.endpoint) : -1;
}

/** Moves leadership to member `target` (bounded); returns the leader index afterwards. */
async function moveLeader(cluster: RealCluster, target: number): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const status = await memberStatus(cluster);
    const leader = status.find((s) => s.isLeader);
    const wanted = status.find((s) => s.endpoint === cluster.endpoints[target]);
    if (leader && wanted && leader.endpoint === wanted.endpoint) return target;
    if (leader && wanted) {
      await run(ETCDCTL, ['--endpoints', leader.endpoint, '--command-timeout', '5s', 'move-leader', wanted.id], {
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: 10_000,
      }).catch(() => undefined);
    }
    await sleep(500);
  }
  return leaderIndex(cluster);
}

/** Longest gap in `times` (sorted), with `start` and `end` as bounds; and where it began. */
function longestGap(times: number[], start: number, end: number): { gap: number; at: number } {
  const all = [start, ...times.filter((t) => t >= start && t <= end).sort((a, b) => a - b), end];
  let gap = 0;
  let at = start;
  for (let i = 1; i < all.length; i++) {
    if (all[i]! - all[i - 1]! > gap) {
      gap = all[i]! - all[i - 1]!;
      at = all[i - 1]!;
    }
  }
  return { gap, at };
}

export function measure(raw: FailoverRaw, pauseAt: number): FailoverMeasurement {
  const reads = longestGap(raw.reads, raw.start, raw.end);
  const writes = longestGap(raw.writes.map((w) => w[2]), raw.start, raw.end);
  const received = new Map<string, number[]>();
  for (const [key, at] of raw.events) {
    const list = received.get(key);
    if (list) list.push(at);
    else received.set(key, [at]);
  }
  const issued = new Map<string, number>();
  for (const [key, at] of raw.writes) issued.set(key, at);
  for (const [key, at] of raw.failedWrites) issued.set(key, at);
  let watchResumeMs: number | null = null;
  for (const [key, at] of raw.events) {
    const i = issued.get(key);
    if (i !== undefined && i >= pauseAt) {
      watchResumeMs = at - pauseAt;
      break;
    }
  }
  let lost = 0;
  let maxLag: number | null = null;
  for (const [key, , acked] of raw.writes) {
    const got = received.get(key);
    if (!got) lost++;
    else maxLag = Math.max(maxLag ?? 0, got[0]! - acked);
  }
  const doubled = [...received.values()].filter((l) => l.length > 1).length;
  const failedWritesDelivered = raw.failedWrites.filter(([k]) => received.has(k)).length;
  const leaseLost = raw.leaseLostAt !== null;
  return {
    readStallMs: reads.gap,
    readStallAtMs: reads.at - pauseAt,
    reads: raw.reads.length,
    readErrors: raw.readErrors,
    writeStallMs: writes.gap,
    writeStallAtMs: writes.at - pauseAt,
    writesAcked: raw.writes.length,
    writesFailed: raw.failedWrites.length,
    watchResumeMs,
    watchMaxLagMs: maxLag,
    watchLost: lost,
    watchDoubled: doubled,
    failedWritesDelivered,
    leaseLost,
    leaseLostAtMs: raw.leaseLostAt === null ? null : raw.leaseLostAt - pauseAt,
    leaseTtlAtEnd: raw.leaseTtlAtEnd,
    leaseSurvived: !leaseLost && (raw.leaseTtlAtEnd ?? 0) > 0,
    firstErrors: raw.firstErrors,
  };
}

/** One client, one case, on a fresh cluster. */
async function runOne(repoRoot: string, failCase: FailoverCase, client: ClientId, plan: FailoverPlan): Promise<FailoverCell> {
  const cell: FailoverCell = { case: failCase, client, pausedMember: 0 };
  let cluster: RealCluster | undefined;
  try {
    cluster = await startRealCluster({ size: 3 });
    const leader = await moveLeader(cluster, failCase === 'leader' ? 0 : 1);
    cell.leaderBefore = leader;
    cell.pausedWasLeader = leader === 0;
    if ((failCase === 'leader') !== cell.pausedWasLeader) throw new Error(`could not arrange the leader (member ${leader} leads)`);
    const seconds = plan.beforeSeconds + plan.pauseSeconds + plan.afterSeconds;
    const child = startBenchChild(repoRoot, WORKER, [
      '--client', client,
      '--endpoints', cluster.endpoints.join(','),
      '--seconds', String(seconds),
      '--call-timeout-ms', String(plan.callTimeoutMs),
      '--prefix', `failover/${client}/`,
    ]);
    try {
      await child.ready(30_000);
      child.send('GO');
      await sleep(plan.beforeSeconds * 1000);
      const member = cluster.members[0]!;
      member.pause();
      const pauseAt = Date.now();
      await sleep(plan.pauseSeconds * 1000);
      member.resume();
      const raw = (await child.result((plan.afterSeconds + 30) * 1000)) as FailoverRaw;
      cell.result = measure(raw, pauseAt);
    } finally {
      await child.kill();
    }
  } catch (err) {
    cell.error = errorText(err);
  } finally {
    await cluster?.close();
  }
  return cell;
}

const fmtS = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`);

function describe(c: FailoverCell): string {
  if (!c.result) return `  failover ${c.case.padEnd(8)} ${c.client.padEnd(8)} failed: ${c.error}`;
  const m = c.result;
  return (
    `  failover ${c.case.padEnd(8)} ${c.client.padEnd(8)} read stall ${fmtS(m.readStallMs)}, write stall ${fmtS(m.writeStallMs)}, ` +
    `watch resumed ${fmtS(m.watchResumeMs)}, lost ${m.watchLost}, doubled ${m.watchDoubled}, lease ${m.leaseSurvived ? 'survived' : 'LOST'} (TTL ${m.leaseTtlAtEnd})`
  );
}

export async function runFailoverGroup(repoRoot: string, clients: readonly ClientId[], plan: FailoverPlan = FAILOVER_PLAN): Promise<FailoverReport | string> {
  const reason = etcdClusterAvailable();
  if (reason !== undefined) return reason;
  try {
    await run(ETCDCTL, ['version'], { timeout: 5000 });
  } catch {
    return `${ETCDCTL} is not usable (needed to arrange the leader)`;
  }
  const date = new Date().toISOString();
  const cells: FailoverCell[] = [];
  for (const failCase of FAILOVER_CASES) {
    for (const client of clients) {
      const cell = await runOne(repoRoot, failCase, client, plan);
      console.log(describe(cell));
      cells.push(cell);
    }
  }
  return { date, plan, cluster: 'etcd 3-member cluster on loopback (data dirs in /dev/shm)', cells, targets: evaluateFailover(cells) };
}

export const FAILOVER_TARGETS = { readStallMs: 2000, writeStallMs: 3000, watchResumeMs: 3000 };

export function evaluateFailover(cells: readonly FailoverCell[]): FailoverReport['targets'] {
  const ours = cells.filter((c) => c.client === 'etcdkit');
  const results = ours.flatMap((c) => (c.result ? [c.result] : []));
  const complete = results.length === ours.length && results.length > 0;
  const worst = (f: (m: FailoverMeasurement) => number) => (results.length ? Math.max(...results.map(f)) : null);
  const readWorst = worst((m) => m.readStallMs);
  const writeWorst = worst((m) => m.writeStallMs);
  const watchWorst = worst((m) => m.watchResumeMs ?? Infinity);
  const watchBad = results.some((m) => m.watchLost > 0 || m.watchDoubled > 0);
  const leaseLost = results.filter((m) => !m.leaseSurvived).length;
  const met = (ok: boolean) => (complete ? ok : results.length ? false : null);
  return {
    readStall: { description: 'etcdkit read loop stalls at most 2 s when a member pauses (ms)', met: met(readWorst! <= FAILOVER_TARGETS.readStallMs), worst: readWorst },
    writeStall: { description: 'etcdkit write loop stalls at most 3 s when a member pauses (ms)', met: met(writeWorst! <= FAILOVER_TARGETS.writeStallMs), worst: writeWorst },
    watch: {
      description: 'etcdkit watch events resume within 3 s of the pause, none lost or doubled (ms)',
      met: met(watchWorst! <= FAILOVER_TARGETS.watchResumeMs && !watchBad),
      worst: watchWorst === Infinity ? null : watchWorst,
    },
    lease: { description: 'etcdkit lease survives the pause (leases lost)', met: met(leaseLost === 0), worst: results.length ? leaseLost : null },
  };
}

/** The failover tables, one per case. */
export function formatFailover(report: FailoverReport): string[] {
  const lines: string[] = [];
  const widths = [34, 18, 18];
  const { beforeSeconds, pauseSeconds, afterSeconds, callTimeoutMs, leaseTtl } = report.plan;
  for (const failCase of FAILOVER_CASES) {
    const cell = (client: ClientId) => report.cells.find((c) => c.case === failCase && c.client === client);
    const ours = cell('etcdkit');
    const theirs = cell('etcd3');
    if (!ours && !theirs) continue;
    lines.push(
      '',
      `failover, ${report.cluster}: member 0 (first endpoint) paused as ${failCase === 'leader' ? 'the leader' : 'a follower'} for ${pauseSeconds} s ` +
        `(${beforeSeconds} s before, ${afterSeconds} s after; calls time out after ${callTimeoutMs / 1000} s; lease TTL ${leaseTtl} s)`,
    );
    lines.push(row(['', 'etcdkit', 'etcd3'], widths));
    const f = (c: FailoverCell | undefined, get: (m: FailoverMeasurement) => string) => (c?.result ? get(c.result) : 'failed');
    const both = (label: string, get: (m: FailoverMeasurement) => string) => lines.push(row([label, f(ours, get), f(theirs, get)], widths));
    both('longest read stall', (m) => fmtS(m.readStallMs));
    both('  reads ok / failed', (m) => `${m.reads} / ${m.readErrors}`);
    both('longest write stall', (m) => fmtS(m.writeStallMs));
    both('  writes acked / failed', (m) => `${m.writesAcked} / ${m.writesFailed}`);
    both('watch events resumed after', (m) => fmtS(m.watchResumeMs));
    both('  longest ack-to-event delay', (m) => fmtS(m.watchMaxLagMs));
    both('watch events lost / doubled', (m) => `${m.watchLost} / ${m.watchDoubled}`);
    both('lease survived (TTL left)', (m) => `${m.leaseSurvived ? 'yes' : 'NO'} (${m.leaseTtlAtEnd ?? '—'} s)`);
    for (const c of [ours, theirs]) if (c?.error) lines.push(`  failed: ${c.client}: ${c.error}`);
  }
  return lines;
}
