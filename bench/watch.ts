/**
 * The watch group of the bench (`--only watch`): event delivery cost and idle-watcher cost,
 * etcdkit against etcd3, each measurement in its own process (bench/watch-worker.ts).
 *
 * * events: one watcher on a prefix receives 20,000 put events written by a separate writer
 *   process; the watcher process reports events/s and its own CPU per event.
 * * idle: 10,000 watchers on distinct keys; time until all are created, and heap per watcher.
 */
import type { ClientId } from './clients.js';
import type { Target } from './report.js';
import type { BenchServer } from './servers.js';
import { startBenchChild } from './watch-child.js';
import { dec, dec2, int, row } from './table.js';

/** Keys and values the watch group writes and watches. */
export const WATCH_DATA = {
  /** The events scenario watches this prefix; the writer puts `bench/watch/<i mod keySpace>`. */
  prefix: 'bench/watch/',
  keySpace: 1000,
  /** Idle watchers watch `bench/idle/` + 8 digits. */
  idlePrefix: 'bench/idle/',
  /** Idle watchers are created this many at a time (so the time cap can be checked between chunks). */
  createChunk: 500,
  value: 'w'.repeat(100),
} as const;

export function idleKey(i: number): string {
  return WATCH_DATA.idlePrefix + String(i).padStart(8, '0');
}

/** How much work the watch group does. */
export interface WatchPlan {
  /** Measured events. */
  events: number;
  /** Events received before measuring (JIT warm-up). */
  warmup: number;
  /** Puts the writer keeps in flight. */
  writeConcurrency: number;
  /** Cap on the events phase (after the watch is ready). */
  eventsCapSeconds: number;
  idleWatchers: number;
  /** Cap on creating the idle watchers; fewer are reported if it is hit. */
  createCapSeconds: number;
}

export const WATCH_PLAN: WatchPlan = {
  events: 20_000,
  warmup: 2000,
  writeConcurrency: 64,
  eventsCapSeconds: 40,
  idleWatchers: 10_000,
  createCapSeconds: 60,
};

/** `--quick`: a tenth of the work, to check that the group works (figures not meaningful). */
export function quickWatchPlan(): WatchPlan {
  return { ...WATCH_PLAN, events: 2000, warmup: 200, idleWatchers: 1000, eventsCapSeconds: 20, createCapSeconds: 20 };
}

/** What the writer process reports. */
export interface WatchWriterResult {
  puts: number;
  seconds: number;
  /** The smallest revision among its puts (decimal): where a catch-up watch starts. */
  firstRevision: string;
}

export interface WatchEventsMeasurement {
  client: ClientId;
  /** False: live events, as the writer writes them. True: a replay of history from a past revision. */
  catchUp: boolean;
  /** Measured events (fewer than planned only if the cap was hit: then `capped`). */
  events: number;
  capped: boolean;
  seconds: number;
  eventsPerSec: number;
  /** Watcher process CPU (user + system, all threads) per measured event, microseconds. */
  cpuUsPerEvent: number;
  /** Live only: the writer's own figures (a separate process, not billed to the watcher). */
  writer?: WatchWriterResult;
}

export interface WatchIdleMeasurement {
  client: ClientId;
  requested: number;
  /** Watchers created (and ready) before the cap; `capped` when fewer than requested. */
  created: number;
  capped: boolean;
  /** Wall time until every created watcher was ready. */
  createSeconds: number;
  createUsPerWatcher: number;
  /** Process CPU spent creating, per watcher. */
  createCpuUsPerWatcher: number;
  /** heapUsed growth per watcher (after full collections before and after). */
  heapBytesPerWatcher: number;
  /** `external` memory growth per watcher (buffers outside the JS heap), for information. */
  externalBytesPerWatcher: number;
  heapUsedBefore: number;
  heapUsedAfter: number;
}

export interface WatchCell {
  server: string;
  client: ClientId;
  events?: WatchEventsMeasurement;
  eventsError?: string;
  catchUp?: WatchEventsMeasurement;
  catchUpError?: string;
  idle?: WatchIdleMeasurement;
  idleError?: string;
}

export interface WatchComparison {
  server: string;
  /** etcdkit CPU per event / etcd3's. */
  cpuPerEventRatio?: number;
  /** etcdkit events/s / etcd3's. */
  eventsPerSecRatio?: number;
  /** Catch-up: etcdkit CPU per event / etcd3's. */
  catchUpCpuPerEventRatio?: number;
  /** etcdkit heap per idle watcher / etcd3's. */
  heapRatio?: number;
  /** etcdkit creation time per watcher / etcd3's. */
  createTimeRatio?: number;
}

export interface WatchReport {
  date: string;
  quick: boolean;
  plan: WatchPlan;
  loadAverage: { start: number; end: number };
  cells: WatchCell[];
  comparisons: WatchComparison[];
  targets: { cpuPerEvent: Target; heapPerWatcher: Target };
}

const WORKER = 'bench/watch-worker.ts';

/** The events scenario for one client: watcher process, then (once it is ready) a writer process. */
async function measureEvents(repoRoot: string, server: BenchServer, client: ClientId, plan: WatchPlan): Promise<WatchEventsMeasurement> {
  return measureLiveEvents(repoRoot, server, plan, WORKER, [
    '--mode', 'events', '--client', client, '--endpoint', server.endpoint,
    '--events', String(plan.events), '--warmup', String(plan.warmup), '--cap', String(plan.eventsCapSeconds),
  ]);
}

/**
 * Runs the watcher process `script args` (it prints READY once its watch is created, then a
 * RESULT after the measured events) while a writer process writes the plan's puts; returns
 * the watcher's result with the writer's figures added.
 */
export async function measureLiveEvents<R extends object>(
  repoRoot: string,
  server: BenchServer,
  plan: WatchPlan,
  script: string,
  args: string[],
): Promise<R & { writer: WatchWriterResult }> {
  const common = ['--endpoint', server.endpoint];
  const watcher = startBenchChild(repoRoot, script, args);
  try {
    await watcher.ready(30_000);
    const writer = startBenchChild(repoRoot, WORKER, [
      '--mode', 'write', ...common,
      '--count', String(plan.events + plan.warmup), '--concurrency', String(plan.writeConcurrency), '--cap', String(plan.eventsCapSeconds),
    ]);
    const timeout = (plan.eventsCapSeconds + 30) * 1000;
    const [events, written] = await Promise.all([
      watcher.result(timeout) as Promise<R>,
      writer.result(timeout).catch(async (err: unknown) => {
        await watcher.kill();
        throw err;
      }) as Promise<WatchWriterResult>,
    ]);
    return { ...events, writer: written };
  } finally {
    await watcher.kill();
  }
}

/** The catch-up scenario for one client: a watch from `startRevision` replays the events a live run wrote. */
async function measureCatchUp(repoRoot: string, server: BenchServer, client: ClientId, plan: WatchPlan, startRevision: string): Promise<WatchEventsMeasurement> {
  const child = startBenchChild(repoRoot, WORKER, [
    '--mode', 'events', '--client', client, '--endpoint', server.endpoint, '--start-revision', startRevision,
    '--events', String(plan.events), '--warmup', String(plan.warmup), '--cap', String(plan.eventsCapSeconds),
  ]);
  try {
    return (await child.result((plan.eventsCapSeconds + 30) * 1000)) as WatchEventsMeasurement;
  } finally {
    await child.kill();
  }
}

async function measureIdle(repoRoot: string, server: BenchServer, client: ClientId, plan: WatchPlan): Promise<WatchIdleMeasurement> {
  const child = startBenchChild(repoRoot, WORKER, [
    '--mode', 'idle', '--client', client, '--endpoint', server.endpoint,
    '--watchers', String(plan.idleWatchers), '--cap', String(plan.createCapSeconds),
  ]);
  try {
    return (await child.result((plan.createCapSeconds + 60) * 1000)) as WatchIdleMeasurement;
  } finally {
    await child.kill();
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs the watch group on one server: for each client, the live events scenario, then the
 * catch-up scenario (replaying what the first live run wrote), then the idle scenario; `runs` times, alternating which client goes first, keeping each
 * client's cheapest events run (least CPU per event) and smallest idle run (least heap per
 * watcher), since other processes only ever add cost. Each measurement is a fresh process;
 * failures are recorded and do not stop the others.
 */
export async function runWatchGroup(
  repoRoot: string,
  server: BenchServer,
  clients: readonly ClientId[],
  plan: WatchPlan,
  runs = 1,
): Promise<WatchCell[]> {
  const cells = new Map<ClientId, WatchCell>(clients.map((client) => [client, { server: server.id, client }]));
  /** Where the first live run's writes start: the catch-up scenario replays from there. */
  let replayFrom: string | undefined;
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? clients : [...clients].reverse();
    for (const client of order) {
      const cell = cells.get(client)!;
      try {
        const e = await measureEvents(repoRoot, server, client, plan);
        replayFrom ??= e.writer?.firstRevision;
        if (!cell.events || e.cpuUsPerEvent < cell.events.cpuUsPerEvent) cell.events = e;
        delete cell.eventsError;
        console.log(
          `  watch events           ${client.padEnd(8)} ${Math.round(e.eventsPerSec).toString().padStart(7)} events/s  ${e.cpuUsPerEvent.toFixed(1)} µs CPU/event${e.capped ? ` (capped: ${e.events} events)` : ''}`,
        );
      } catch (err) {
        if (!cell.events) cell.eventsError = errorText(err);
        console.log(`  watch events           ${client.padEnd(8)} failed: ${errorText(err)}`);
      }
    }
    for (const client of order) {
      const cell = cells.get(client)!;
      if (replayFrom === undefined) {
        cell.catchUpError ??= 'no live run wrote the events to replay';
        continue;
      }
      try {
        const e = await measureCatchUp(repoRoot, server, client, plan, replayFrom);
        if (!cell.catchUp || e.cpuUsPerEvent < cell.catchUp.cpuUsPerEvent) cell.catchUp = e;
        delete cell.catchUpError;
        console.log(
          `  watch catch-up         ${client.padEnd(8)} ${Math.round(e.eventsPerSec).toString().padStart(7)} events/s  ${e.cpuUsPerEvent.toFixed(1)} µs CPU/event${e.capped ? ` (capped: ${e.events} events)` : ''}`,
        );
      } catch (err) {
        if (!cell.catchUp) cell.catchUpError = errorText(err);
        console.log(`  watch catch-up         ${client.padEnd(8)} failed: ${errorText(err)}`);
      }
    }
    for (const client of order) {
      const cell = cells.get(client)!;
      try {
        const m = await measureIdle(repoRoot, server, client, plan);
        if (!cell.idle || m.heapBytesPerWatcher < cell.idle.heapBytesPerWatcher) cell.idle = m;
        delete cell.idleError;
        console.log(
          `  idle watchers          ${client.padEnd(8)} ${m.created} created in ${m.createSeconds.toFixed(2)} s  ${Math.round(m.heapBytesPerWatcher)} B heap/watcher${m.capped ? ` (capped at ${plan.createCapSeconds} s)` : ''}`,
        );
      } catch (err) {
        if (!cell.idle) cell.idleError = errorText(err);
        console.log(`  idle watchers          ${client.padEnd(8)} failed: ${errorText(err)}`);
      }
    }
  }
  return [...cells.values()];
}

/** Target: CPU per event at most this fraction of etcd3's. */
export const WATCH_CPU_TARGET = 0.5;
/** Target: heap per idle watcher at most this many bytes. */
export const WATCH_HEAP_TARGET = 1024;

export function compareWatch(cells: readonly WatchCell[]): WatchComparison[] {
  const servers = [...new Set(cells.map((c) => c.server))];
  return servers.map((server) => {
    const ours = cells.find((c) => c.server === server && c.client === 'etcdkit');
    const theirs = cells.find((c) => c.server === server && c.client === 'etcd3');
    const out: WatchComparison = { server };
    if (ours?.events && theirs?.events) {
      out.cpuPerEventRatio = ours.events.cpuUsPerEvent / theirs.events.cpuUsPerEvent;
      out.eventsPerSecRatio = ours.events.eventsPerSec / theirs.events.eventsPerSec;
    }
    if (ours?.catchUp && theirs?.catchUp) out.catchUpCpuPerEventRatio = ours.catchUp.cpuUsPerEvent / theirs.catchUp.cpuUsPerEvent;
    if (ours?.idle && theirs?.idle) {
      out.heapRatio = ours.idle.heapBytesPerWatcher / theirs.idle.heapBytesPerWatcher;
      out.createTimeRatio = ours.idle.createUsPerWatcher / theirs.idle.createUsPerWatcher;
    }
    return out;
  });
}

export function evaluateWatch(cells: readonly WatchCell[], comparisons: readonly WatchComparison[]): WatchReport['targets'] {
  const cpu = comparisons.flatMap((c) => (c.cpuPerEventRatio === undefined ? [] : [c.cpuPerEventRatio]));
  const heap = cells.flatMap((c) => (c.client === 'etcdkit' && c.idle ? [c.idle.heapBytesPerWatcher] : []));
  return {
    cpuPerEvent: {
      description: `watch CPU per live event at most ${WATCH_CPU_TARGET} of etcd3's (ratio <= ${WATCH_CPU_TARGET})`,
      met: cpu.length ? cpu.every((r) => r <= WATCH_CPU_TARGET) : null,
      worst: cpu.length ? Math.max(...cpu) : null,
    },
    heapPerWatcher: {
      description: `heap per idle watcher at most ${WATCH_HEAP_TARGET} bytes`,
      met: heap.length ? heap.every((b) => b <= WATCH_HEAP_TARGET) : null,
      worst: heap.length ? Math.max(...heap) : null,
    },
  };
}

/** The watch tables, one per server. */
export function formatWatch(report: WatchReport, servers: readonly { id: string; label: string }[]): string[] {
  const lines: string[] = [];
  const widths = [30, 14, 14, 16];
  for (const server of servers) {
    const cell = (client: ClientId) => report.cells.find((c) => c.server === server.id && c.client === client);
    const ours = cell('etcdkit');
    const theirs = cell('etcd3');
    if (!ours && !theirs) continue;
    const cmp = report.comparisons.find((c) => c.server === server.id);
    const ratio = (r: number | undefined, ok?: (r: number) => boolean) =>
      r === undefined ? '—' : `${r.toFixed(2)}${ok ? (ok(r) ? ' ✓' : ' ✗') : ''}`;
    const events = (c: WatchCell | undefined, f: (m: WatchEventsMeasurement) => string, which: 'events' | 'catchUp' = 'events') => {
      const m = c?.[which];
      return m ? f(m) + (m.capped ? '*' : '') : 'failed';
    };
    const idle = (c: WatchCell | undefined, f: (m: WatchIdleMeasurement) => string) =>
      c?.idle ? f(c.idle) + (c.idle.capped ? '*' : '') : 'failed';
    lines.push('', `watch, ${server.label}`);
    lines.push(row(['', 'etcdkit', 'etcd3', 'ours/etcd3'], widths));
    lines.push(row([`live events/s (1 watcher)`, events(ours, (m) => int.format(m.eventsPerSec)), events(theirs, (m) => int.format(m.eventsPerSec)), ratio(cmp?.eventsPerSecRatio)], widths));
    lines.push(
      row(
        ['CPU per live event',
          events(ours, (m) => `${dec.format(m.cpuUsPerEvent)} µs`),
          events(theirs, (m) => `${dec.format(m.cpuUsPerEvent)} µs`),
          ratio(cmp?.cpuPerEventRatio, (r) => r <= WATCH_CPU_TARGET)],
        widths,
      ),
    );
    lines.push(
      row(
        ['CPU per event, catch-up',
          events(ours, (m) => `${dec.format(m.cpuUsPerEvent)} µs`, 'catchUp'),
          events(theirs, (m) => `${dec.format(m.cpuUsPerEvent)} µs`, 'catchUp'),
          ratio(cmp?.catchUpCpuPerEventRatio)],
        widths,
      ),
    );
    lines.push(
      row(
        [`heap per idle watcher`,
          idle(ours, (m) => `${int.format(m.heapBytesPerWatcher)} B`),
          idle(theirs, (m) => `${int.format(m.heapBytesPerWatcher)} B`),
          ratio(cmp?.heapRatio)],
        widths,
      ),
    );
    lines.push(
      row(
        [`create N watchers (N)`,
          idle(ours, (m) => `${dec2.format(m.createSeconds)} s (${int.format(m.created)})`),
          idle(theirs, (m) => `${dec2.format(m.createSeconds)} s (${int.format(m.created)})`),
          ratio(cmp?.createTimeRatio)],
        widths,
      ),
    );
    lines.push(
      row(
        [`  per watcher: wall, CPU`,
          idle(ours, (m) => `${dec.format(m.createUsPerWatcher)}, ${dec.format(m.createCpuUsPerWatcher)} µs`),
          idle(theirs, (m) => `${dec.format(m.createUsPerWatcher)}, ${dec.format(m.createCpuUsPerWatcher)} µs`),
          ''],
        widths,
      ),
    );
    if ([ours, theirs].some((c) => c?.events?.capped || c?.catchUp?.capped || c?.idle?.capped)) {
      lines.push('  * capped by time: figures are per event / per watcher over what completed');
    }
    for (const c of [ours, theirs]) {
      if (c?.eventsError) lines.push(`  failed: ${c.client} watch events: ${c.eventsError}`);
      if (c?.catchUpError) lines.push(`  failed: ${c.client} watch catch-up: ${c.catchUpError}`);
      if (c?.idleError) lines.push(`  failed: ${c.client} idle watchers: ${c.idleError}`);
    }
  }
  return lines;
}
