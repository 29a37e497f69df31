/**
 * `npm run bench`: etcdkit's client against the `etcd3` npm client, side by side, on the bundled
 * server and (when /usr/bin/etcd exists) a real etcd. Every client × scenario runs in a fresh
 * worker process; servers run in their own processes. Prints a table and writes
 * bench/results/latest.json. Options: --quick (a tenth of the work: a smoke test, not figures),
 * --runs N (best of N runs per cell, alternating client order), --server bundled|etcd|all,
 * --out FILE. See docs/bench.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIENTS, type ClientId } from './clients.js';
import { runWorker } from './run-worker.js';
import type { Measurement } from './measure.js';
import { compare, evaluate, formatReport, type BenchReport, type Cell } from './report.js';
import { DATA, SCENARIOS, quick as quickScenario, type Scenario } from './scenarios.js';
import { ETCD_BINARY, startBundledServer, startRealEtcd, type BenchServer } from './servers.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    server: { type: 'string', default: 'all' },
    out: { type: 'string', default: resolve(repoRoot, 'bench/results/latest.json') },
  },
  strict: true,
});
if (!['all', 'bundled', 'etcd'].includes(values.server)) throw new Error('--server must be all, bundled or etcd');
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 5) throw new Error(`--runs must be an integer from 1 to 5, got ${values.runs}`);

/** The default bench must stay under three minutes (more with --runs); workers not started by then are skipped. */
const BUDGET_MS = 170_000 * runs;
const started = performance.now();
const loadAtStart = loadavg()[0]!;
const overBudget = () => performance.now() - started > BUDGET_MS;

type ServerStarter = { id: string; label: string; start: () => Promise<BenchServer> };
const starters: ServerStarter[] = [];
if (values.server !== 'etcd') {
  starters.push({ id: 'etcdkit-server', label: 'etcdkit bundled server', start: () => startBundledServer(repoRoot) });
}
if (values.server !== 'bundled') {
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
    console.log(`${server.label} at ${server.endpoint}: writing ${DATA.rangeKeys} range keys`);
    await prepare(server);
    for (const s of scenarios) cells.push(...(await bestOf(server, s)));
  } catch (err) {
    console.log(`${server.label}: ${(err as Error).message}`);
    for (const s of scenarios) for (const client of CLIENTS) cells.push({ server: server.id, scenario: s.id, client, error: 'setup failed' });
  } finally {
    await server.stop();
    running.delete(server);
  }
}

const comparisons = compare(cells);
const report: BenchReport = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  quick: values.quick,
  runs,
  loadAverage: { start: loadAtStart, end: loadavg()[0]! },
  servers,
  cells,
  comparisons,
  targets: evaluate(comparisons),
};
console.log(formatReport(report));
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\nwrote ${relative(process.cwd(), values.out) || values.out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (!cells.some((c) => c.result)) process.exitCode = 1;
