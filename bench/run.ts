/**
 * `npm run bench`: etcdkit's client against the `etcd3` npm client, side by side, on the bundled
 * server and (when /usr/bin/etcd exists) a real etcd. Every client × scenario runs in a fresh
 * worker process; servers run in their own processes. Four groups: kv (unary calls and a large
 * range), watch (bench/watch.ts), lease (bench/lease.ts) and failover (bench/failover.ts, a real
 * 3-member cluster; only with --only). Prints tables and writes bench/results/latest.json.
 * Options: --only kv,watch,lease,failover (default: kv,watch,lease),
 * --quick (a tenth of the work, 10 s lease window: a smoke test, not figures), --runs N (best of
 * N runs per cell, alternating client order; kv and watch), --lease-seconds S (lease window,
 * default 60), --server bundled|etcd|all, --out FILE. See docs/bench.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENTS, type ClientId } from './clients.js';
import { runWorker } from './run-worker.js';
import type { Measurement } from './measure.js';
import { compareLease, evaluateLease, LEASE_PLAN, runLeaseGroup, type LeasePlan, type LeaseReport } from './lease.js';
import { FAILOVER_PLAN, runFailoverGroup, type FailoverReport } from './failover.js';
import { compare, DEFAULT_GROUPS, evaluate, formatReport, GROUPS, type BenchGroup, type BenchReport, type Cell } from './report.js';
import { DATA, SCENARIOS, quick as quickScenario, type Scenario } from './scenarios.js';
import { ETCD_BINARY, startBundledServer, startRealEtcd, type BenchServer } from './servers.js';
import { compareWatch, evaluateWatch, quickWatchPlan, runWatchGroup, WATCH_PLAN, type WatchReport } from './watch.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    server: { type: 'string', default: 'all' },
    only: { type: 'string', default: DEFAULT_GROUPS.join(',') },
    'lease-seconds': { type: 'string' },
    out: { type: 'string', default: resolve(repoRoot, 'bench/results/latest.json') },
  },
  strict: true,
});
if (!['all', 'bundled', 'etcd'].includes(values.server)) throw new Error('--server must be all, bundled or etcd');
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 5) throw new Error(`--runs must be an integer from 1 to 5, got ${values.runs}`);
const groups = values.only.split(',').map((g) => g.trim()).filter(Boolean) as BenchGroup[];
for (const g of groups) if (!GROUPS.includes(g)) throw new Error(`--only takes a comma-separated list of ${GROUPS.join(', ')}; got ${JSON.stringify(g)}`);
if (groups.length === 0) throw new Error('--only: no group given');
const want = (g: BenchGroup) => groups.includes(g);
const leaseSeconds = Number(values['lease-seconds'] ?? (values.quick ? 10 : LEASE_PLAN.seconds));
if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 600) {
  throw new Error(`--lease-seconds must be an integer from 1 to 600, got ${values['lease-seconds']}`);
}
const leasePlan: LeasePlan = { ...LEASE_PLAN, seconds: leaseSeconds };
const watchPlan = values.quick ? quickWatchPlan() : WATCH_PLAN;

/** The kv group must stay under three minutes (more with --runs); kv workers not started by then are skipped. */
const BUDGET_MS = 170_000 * runs;
const started = performance.now();
const loadAtStart = loadavg()[0]!;
const overBudget = () => performance.now() - started > BUDGET_MS;

type ServerStarter = { id: string; label: string; start: () => Promise<BenchServer> };
const starters: ServerStarter[] = [];
/** The failover group starts its own clusters; the shared servers are only needed by the other groups. */
const needServers = want('kv') || want('watch') || want('lease');
if (values.server !== 'etcd' && needServers) {
  starters.push({ id: 'etcdkit-server', label: 'etcdkit bundled server', start: () => startBundledServer(repoRoot) });
}
if (values.server !== 'bundled' && needServers) {
  if (existsSync(ETCD_BINARY)) starters.push({ id: 'etcd', label: 'etcd', start: () => startRealEtcd() });
  else console.log(`real etcd: skipped (${ETCD_BINARY} not found)`);
}

const worker = (server: BenchServer, client: ClientId, args: string[], timeoutMs: number) =>
  runWorker(repoRoot, ['--client', client, '--endpoint', server.endpoint, ...args], timeoutMs);

async function runScenario(server: BenchServer, s: Scenario, client: ClientId): Promise<Cell> {
  const cell: Cell = { server: server.id, scenario: s.id, client };
  if (overBudget()) return { ...cell, error: 'skipped: the bench time budget is used up' };
  const timeoutMs = (s.maxSeconds * 2 + 20) * 1000;
  try {
    const result = (await worker(server, client, ['--scenario', s.id, ...(values.quick ? ['--quick'] : [])], timeoutMs)) as Measurement;
    const figure =
      s.kind === 'range'
        ? `${(result.cpuUsPerOp / 1000).toFixed(1)} ms CPU/range, ${((result.decodeUsPerRange ?? 0) / 1000).toFixed(1)} ms decode`
        : `${result.cpuUsPerOp.toFixed(1)} µs CPU/op`;
    console.log(`  ${s.title.padEnd(22)} ${client.padEnd(8)} ${Math.round(result.opsPerSec).toString().padStart(7)} ops/s  ${figure}`);
    return { ...cell, result };
  } catch (err) {
    console.log(`  ${s.title.padEnd(22)} ${client.padEnd(8)} failed: ${(err as Error).message}`);
    return { ...cell, error: (err as Error).message };
  }
}

/**
 * Runs a scenario `runs` times per client, alternating which client goes first, and keeps each
 * client's run with the least CPU per op (noise from other processes only ever adds CPU).
 */
async function bestOf(server: BenchServer, s: Scenario): Promise<Cell[]> {
  const best = new Map<ClientId, Cell>();
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
    for (const client of order) {
      const cell = await runScenario(server, s, client);
      const kept = best.get(client);
      if (!kept?.result || (cell.result && cell.result.cpuUsPerOp < kept.result.cpuUsPerOp)) best.set(client, cell);
    }
  }
  return CLIENTS.map((c) => best.get(c)!);
}

/** Writes the data set with etcdkit (falling back to etcd3 so one broken client never blocks the other). */
async function prepare(server: BenchServer): Promise<void> {
  let lastError: unknown;
  for (const client of CLIENTS) {
    try {
      await worker(server, client, ['--setup'], 60_000);
      return;
    } catch (err) {
      lastError = err;
      console.log(`  setup with ${client} failed: ${(err as Error).message}`);
    }
  }
  throw lastError;
}

const running = new Set<BenchServer>();
const stopAll = async () => {
  await Promise.all([...running].map((s) => s.stop()));
  running.clear();
};
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

const scenarios = values.quick ? SCENARIOS.map(quickScenario) : SCENARIOS;
const cells: Cell[] = [];
const servers: BenchReport['servers'] = [];
const watchCells: WatchReport['cells'] = [];
const watchLoadStart = loadavg()[0]!;
let watchDate = '';
/** Servers kept running for the lease group, which runs on all of them at once at the end. */
const forLease: BenchServer[] = [];
for (const starter of starters) {
  console.log(`${starter.label}: starting`);
  let server: BenchServer;
  try {
    server = await starter.start();
  } catch (err) {
    console.log(`${starter.label}: could not start: ${(err as Error).message}`);
    servers.push({ id: starter.id, label: `${starter.label} (did not start)` });
    continue;
  }
  running.add(server);
  servers.push({ id: server.id, label: `${server.label} at ${server.endpoint}` });
  try {
    if (want('kv')) {
      try {
        console.log(`${server.label} at ${server.endpoint}: writing ${DATA.rangeKeys} range keys`);
        await prepare(server);
        for (const s of scenarios) cells.push(...(await bestOf(server, s)));
      } catch (err) {
        console.log(`${server.label}: ${(err as Error).message}`);
        for (const s of scenarios) for (const client of CLIENTS) cells.push({ server: server.id, scenario: s.id, client, error: 'setup failed' });
      }
    }
    if (want('watch')) {
      console.log(`${server.label}: watch (${watchPlan.events} events, ${watchPlan.idleWatchers} idle watchers)`);
      watchDate ||= new Date().toISOString();
      watchCells.push(...(await runWatchGroup(repoRoot, server, CLIENTS, watchPlan, runs)));
    }
  } finally {
    if (want('lease')) {
      forLease.push(server);
    } else {
      await server.stop();
      running.delete(server);
    }
  }
}
const watchLoadEnd = loadavg()[0]!;

let lease: LeaseReport | undefined;
if (want('lease') && forLease.length > 0) {
  const date = new Date().toISOString();
  const loadStart = loadavg()[0]!;
  console.log(`lease: ${leasePlan.leases} leases per client, TTL ${leasePlan.ttl} s, ${leasePlan.seconds} s window, on ${forLease.map((s) => s.label).join(' and ')} at once`);
  try {
    const { cells: leaseCells, serverStreamsMidWindow } = await runLeaseGroup(repoRoot, forLease, CLIENTS, leasePlan);
    lease = {
      date,
      quick: values.quick,
      plan: leasePlan,
      loadAverage: { start: loadStart, end: loadavg()[0]! },
      cells: leaseCells,
      serverStreamsMidWindow,
      comparisons: compareLease(leaseCells),
      targets: evaluateLease(leaseCells),
    };
  } finally {
    await stopAll();
  }
}
let failover: FailoverReport | undefined;
if (want('failover')) {
  if (!existsSync(ETCD_BINARY)) {
    console.log(`failover: skipped (${ETCD_BINARY} not found)`);
  } else {
    const p = FAILOVER_PLAN;
    console.log(`failover: 3-member etcd cluster, member 0 paused ${p.pauseSeconds} s (as a follower, then as the leader), each client on a fresh cluster`);
    const outcome = await runFailoverGroup(repoRoot, CLIENTS);
    if (typeof outcome === 'string') console.log(`failover: skipped (${outcome})`);
    else failover = outcome;
  }
}
let watch: WatchReport | undefined;
if (want('watch')) {
  const comparisons = compareWatch(watchCells);
  watch = {
    date: watchDate || new Date().toISOString(),
    quick: values.quick,
    plan: watchPlan,
    loadAverage: { start: watchLoadStart, end: watchLoadEnd },
    cells: watchCells,
    comparisons,
    targets: evaluateWatch(watchCells, comparisons),
  };
}

/** The report in `--out` before this run, whose sections of groups not run now are kept. */
async function previousReport(): Promise<Partial<BenchReport> | undefined> {
  try {
    return JSON.parse(await readFile(values.out, 'utf8')) as Partial<BenchReport>;
  } catch {
    return undefined;
  }
}
const previous = groups.length < GROUPS.length ? await previousReport() : undefined;

const comparisons = compare(cells);
const keepKv = !want('kv') && (previous?.cells?.length ?? 0) > 0 && previous?.targets !== undefined;
const report: BenchReport = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  quick: values.quick,
  runs,
  loadAverage: { start: loadAtStart, end: loadavg()[0]! },
  servers,
  groups,
  ...(keepKv ? { kvFrom: previous!.kvFrom ?? previous!.date ?? 'unknown', cells: previous!.cells!, comparisons: previous!.comparisons ?? [], targets: previous!.targets! } : { cells, comparisons, targets: evaluate(comparisons) }),
  watch: watch ?? previous?.watch,
  lease: lease ?? previous?.lease,
  failover: failover ?? previous?.failover,
};
console.log(formatReport(report));
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote ${relative(process.cwd(), values.out) || values.out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
const measuredSomething =
  cells.some((c) => c.result) || watchCells.some((c) => c.events || c.idle) || (lease?.cells.some((c) => c.result) ?? false) ||
  (failover?.cells.some((c) => c.result) ?? false);
if (!measuredSomething) process.exitCode = 1;
