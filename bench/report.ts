/** Turns worker measurements into comparisons, target verdicts, a printed table and the JSON report. */
import type { ClientId } from './clients.js';
import { formatFailover, type FailoverReport } from './failover.js';
import { formatLease, type LeaseReport } from './lease.js';
import { SCENARIOS, type ScenarioId } from './scenarios.js';
import type { Measurement } from './measure.js';
import { formatWatch, type WatchReport } from './watch.js';
import { dec, int, row } from './table.js';

/** The scenario groups `--only` selects. */
export type BenchGroup = 'kv' | 'watch' | 'lease' | 'failover';
export const GROUPS: readonly BenchGroup[] = ['kv', 'watch', 'lease', 'failover'];
/** The groups run without `--only`: failover (about 2.5 minutes on a real 3-member cluster) runs only when asked for. */
export const DEFAULT_GROUPS: readonly BenchGroup[] = ['kv', 'watch', 'lease'];

/** One client × scenario × server run: a measurement or the reason there is none. */
export interface Cell {
  server: string;
  scenario: ScenarioId;
  client: ClientId;
  result?: Measurement;
  error?: string;
}

/** etcdkit against etcd3 for one scenario on one server. */
export interface Comparison {
  server: string;
  scenario: ScenarioId;
  /** etcdkit CPU per op / etcd3 CPU per op: below 1 means etcdkit spends less CPU. */
  cpuRatio: number;
  /** etcdkit ops/s / etcd3 ops/s: above 1 means etcdkit is faster. */
  throughputRatio: number;
  /** range only: etcd3 CPU per range / etcdkit CPU per range, end to end (transport included). */
  rangeSpeedup?: number;
  /** range only: etcd3 decode time / etcdkit decode time for one 10,000-key response. */
  decodeSpeedup?: number;
}

export interface Target {
  description: string;
  /** `null` when no comparison was available. */
  met: boolean | null;
  /** The worst observed figure (largest CPU ratio, or smallest range speed-up). */
  worst: number | null;
}

export interface BenchReport {
  date: string;
  node: string;
  platform: string;
  cpus: string;
  quick: boolean;
  /** Runs per cell; each cell keeps its best (least CPU) run. */
  runs: number;
  /** 1-minute load average of the machine when the bench started and ended (noise indicator). */
  loadAverage: { start: number; end: number };
  servers: { id: string; label: string }[];
  /** The groups measured by this run. Sections of other groups may be kept from an earlier run (see `kvFrom`, `watch.date`, `lease.date`). */
  groups?: BenchGroup[];
  /** Set when `cells`, `comparisons` and `targets` (the kv group) were kept from an earlier run: that run's date. */
  kvFrom?: string;
  cells: Cell[];
  comparisons: Comparison[];
  targets: { unaryCpu: Target; range: Target };
  /** The watch group (bench/watch.ts), with its own date, load average and targets. */
  watch?: WatchReport;
  /** The lease group (bench/lease.ts), with its own date, load average and targets. */
  lease?: LeaseReport;
  /** The failover group (bench/failover.ts), with its own date and targets. */
  failover?: FailoverReport;
}

/** The range decode target: etcdkit at least this many times faster than etcd3. */
export const RANGE_SPEEDUP_TARGET = 3;

export function compare(cells: readonly Cell[]): Comparison[] {
  const out: Comparison[] = [];
  const find = (server: string, scenario: ScenarioId, client: ClientId) =>
    cells.find((c) => c.server === server && c.scenario === scenario && c.client === client)?.result;
  const servers = [...new Set(cells.map((c) => c.server))];
  for (const server of servers) {
    for (const s of SCENARIOS) {
      const ours = find(server, s.id, 'etcdkit');
      const theirs = find(server, s.id, 'etcd3');
      if (!ours || !theirs) continue;
      out.push({
        server,
        scenario: s.id,
        cpuRatio: ours.cpuUsPerOp / theirs.cpuUsPerOp,
        throughputRatio: ours.opsPerSec / theirs.opsPerSec,
        ...(s.kind === 'range' ? { rangeSpeedup: theirs.cpuUsPerOp / ours.cpuUsPerOp } : {}),
        ...(ours.decodeUsPerRange && theirs.decodeUsPerRange
          ? { decodeSpeedup: theirs.decodeUsPerRange / ours.decodeUsPerRange }
          : {}),
      });
    }
  }
  return out;
}

export function evaluate(comparisons: readonly Comparison[]): BenchReport['targets'] {
  const unary = comparisons.filter((c) => c.rangeSpeedup === undefined).map((c) => c.cpuRatio);
  const range = comparisons.flatMap((c) => (c.decodeSpeedup === undefined ? [] : [c.decodeSpeedup]));
  return {
    unaryCpu: {
      description: 'unary CPU per op no worse than etcd3 (ratio <= 1)',
      met: unary.length ? unary.every((r) => r <= 1) : null,
      worst: unary.length ? Math.max(...unary) : null,
    },
    range: {
      description: `10,000-key range response decoded at least ${RANGE_SPEEDUP_TARGET}x faster than etcd3`,
      met: range.length ? range.every((r) => r >= RANGE_SPEEDUP_TARGET) : null,
      worst: range.length ? Math.min(...range) : null,
    },
  };
}

function cpu(m: Measurement | undefined, range: boolean): string {
  if (!m) return 'failed';
  return range ? `${dec.format(m.cpuUsPerOp / 1000)} ms` : `${dec.format(m.cpuUsPerOp)} µs`;
}

function rate(m: Measurement | undefined, range: boolean): string {
  if (!m) return 'failed';
  return range ? `${dec.format(m.opsPerSec)}/s` : int.format(m.opsPerSec);
}

function verdict(c: Comparison | undefined): string {
  if (!c) return '—';
  if (c.rangeSpeedup !== undefined) return `${c.cpuRatio.toFixed(2)} (${c.rangeSpeedup.toFixed(1)}x faster)`;
  return `${c.cpuRatio.toFixed(2)} ${c.cpuRatio <= 1 ? '✓' : '✗'}`;
}

function decodeVerdict(c: Comparison | undefined): string {
  if (c?.decodeSpeedup === undefined) return '—';
  const ok = c.decodeSpeedup >= RANGE_SPEEDUP_TARGET ? '✓' : '✗';
  return `${(1 / c.decodeSpeedup).toFixed(2)} (${c.decodeSpeedup.toFixed(1)}x faster) ${ok}`;
}

function decodeCpu(m: Measurement | undefined): string {
  return m?.decodeUsPerRange === undefined ? '—' : `${dec.format(m.decodeUsPerRange / 1000)} ms`;
}

function targetLine(t: Target, digits = 2): string {
  const state = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
  const figure = t.worst === null ? '' : ` (worst: ${t.worst.toFixed(digits)})`;
  return `target: ${t.description}: ${state}${figure}`;
}

/** The human-readable result: one table per server and group, then the targets and any failures. */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const groups = report.groups ?? ['kv'];
  if (groups.includes('kv')) lines.push(...formatKv(report));
  if (groups.includes('watch') && report.watch) lines.push(...formatWatch(report.watch, report.servers));
  if (groups.includes('lease') && report.lease) lines.push(...formatLease(report.lease, report.servers));
  if (groups.includes('failover') && report.failover) lines.push(...formatFailover(report.failover));
  lines.push('', `machine: ${report.cpus}, node ${report.node}; load average ${report.loadAverage.start.toFixed(1)} at start, ${report.loadAverage.end.toFixed(1)} at end`);
  if (groups.includes('kv')) {
    for (const t of [report.targets.unaryCpu, report.targets.range]) lines.push(targetLine(t));
  }
  if (groups.includes('watch') && report.watch) {
    lines.push(targetLine(report.watch.targets.cpuPerEvent), targetLine(report.watch.targets.heapPerWatcher, 0));
  }
  if (groups.includes('lease') && report.lease) {
    lines.push(targetLine(report.lease.targets.leaseStreams, 0), targetLine(report.lease.targets.leasesKept, 0));
  }
  if (groups.includes('failover') && report.failover) {
    const t = report.failover.targets;
    lines.push(targetLine(t.readStall, 0), targetLine(t.writeStall, 0), targetLine(t.watch, 0), targetLine(t.lease, 0));
  }
  if (groups.includes('kv')) {
    const failures = report.cells.filter((c) => c.error);
    for (const f of failures) lines.push(`failed: ${f.client} ${f.scenario} on ${f.server}: ${f.error}`);
  }
  return lines.join('\n');
}

/** The kv tables, one per server. */
function formatKv(report: BenchReport): string[] {
  const lines: string[] = [];
  const widths = [22, 13, 11, 14, 12, 26];
  for (const server of report.servers) {
    lines.push('', `${server.label}`);
    if (!report.cells.some((c) => c.server === server.id)) {
      lines.push('  not measured');
      continue;
    }
    lines.push(row(['scenario', 'etcdkit ops/s', 'etcd3 ops/s', 'etcdkit CPU/op', 'etcd3 CPU/op', 'CPU ours/etcd3'], widths));
    for (const s of SCENARIOS) {
      const cell = (client: ClientId) =>
        report.cells.find((c) => c.server === server.id && c.scenario === s.id && c.client === client);
      const ours = cell('etcdkit');
      const theirs = cell('etcd3');
      if (!ours && !theirs) continue;
      const range = s.kind === 'range';
      const cmp = report.comparisons.find((c) => c.server === server.id && c.scenario === s.id);
      lines.push(
        row(
          [s.title, rate(ours?.result, range), rate(theirs?.result, range), cpu(ours?.result, range), cpu(theirs?.result, range), verdict(cmp)],
          widths,
        ),
      );
      if (range) {
        lines.push(row(['  decode only', '', '', decodeCpu(ours?.result), decodeCpu(theirs?.result), decodeVerdict(cmp)], widths));
      }
    }
  }
  return lines;
}
