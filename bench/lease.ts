/**
 * The lease group of the bench (`--only lease`): 1,000 self-renewing leases with a short TTL
 * for a fixed window, etcdkit against etcd3. It reports the client's CPU over the window, the
 * renewals answered, the keepalive streams the client opened (and, on real etcd, the streams the
 * server counts), and whether every lease still exists at the end.
 *
 * The work is paced by timers (a fixed number of renewals per second), not by throughput, so
 * the workers of both clients on both servers run at the same time, sharing one window: the
 * default run stays short, and both clients see the same machine load.
 */
import { request } from 'node:http';
import type { ClientId } from './clients.js';
import type { Target } from './report.js';
import type { BenchServer } from './servers.js';
import { startBenchChild, type BenchChild } from './watch-child.js';
import { dec, int, row } from './table.js';

export interface LeasePlan {
  leases: number;
  /** Requested TTL in seconds: both clients renew every TTL/3. */
  ttl: number;
  /** Length of the measured window. */
  seconds: number;
}

export const LEASE_PLAN: LeasePlan = { leases: 1000, ttl: 5, seconds: 60 };

/** LeaseKeepAlive streams as the client itself counts them. */
export interface StreamCount {
  /** Streams opened since the client started. */
  opened: number;
  /** Streams open at that moment. */
  open: number;
  /** Where the figure comes from. */
  source: string;
}

export interface LeaseMeasurement {
  client: ClientId;
  leases: number;
  ttl: number;
  /** Granting every lease, plus 1.5 s to settle (not measured). */
  setupSeconds: number;
  windowSeconds: number;
  /** Keepalive answers received in the window (etcdkit: `renewed` events; etcd3: `keepaliveSucceeded`). */
  renewals: number;
  renewalsPerSec: number;
  /** Client process CPU (user + system, all threads) over the window, per minute. */
  cpuMsPerMinute: number;
  cpuUsPerRenewal: number | null;
  /** CPU over the window as a fraction of one core. */
  cpuShareOfCore: number;
  streamsAtStart: StreamCount;
  streamsAtEnd: StreamCount;
  streamsOpenedInWindow: number;
  /** Leases the client reported lost during the window, and in all (before closing). */
  lostInWindow: number;
  lostTotal: number;
  /** Leases whose remaining TTL the server was asked for after the window. */
  checked: number;
  /** How long asking for every lease's TTL took (64 requests in flight). */
  checkSeconds: number;
  /** Of those, how many the server no longer had (it answers TTL -1). */
  missingAtEnd: number;
  /** The smallest remaining TTL the server reported (whole seconds, truncated: 0 means under 1 s left). */
  minTtlAtEnd: number;
  /** Remaining TTL in whole seconds → number of leases. */
  ttlHistogramAtEnd: Record<string, number>;
  /** The client's keepalive streams once the check was done. */
  streamsAfterCheck: StreamCount;
}

export interface LeaseCell {
  server: string;
  client: ClientId;
  result?: LeaseMeasurement;
  error?: string;
  /**
   * Real etcd only: open LeaseKeepAlive streams the server counts (its `grpc_server_started_total`
   * minus `grpc_server_handled_total`) that this client's worker added during its setup. The
   * setups on one server run one after the other, so the figure belongs to this client alone.
   */
  serverStreams?: number;
}

export interface LeaseComparison {
  server: string;
  /** etcdkit CPU per minute / etcd3's. */
  cpuRatio: number;
  /** etcdkit CPU per renewal / etcd3's. */
  cpuPerRenewalRatio: number | null;
}

export interface LeaseReport {
  date: string;
  quick: boolean;
  plan: LeasePlan;
  loadAverage: { start: number; end: number };
  cells: LeaseCell[];
  /** Real etcd: open LeaseKeepAlive streams the server counted in the middle of the window (all clients together). */
  serverStreamsMidWindow: Record<string, number>;
  comparisons: LeaseComparison[];
  targets: { leaseStreams: Target; leasesKept: Target };
}

const WORKER = 'bench/lease-worker.ts';

/** Reads etcd's /metrics: LeaseKeepAlive streams started minus handled (finished), or undefined if unavailable. */
export function openKeepAliveStreams(endpoint: string): Promise<number | undefined> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve) => {
    const req = request(
      { host, port: Number(port), path: '/metrics', agent: false, timeout: 5000, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => {
          let started: number | undefined;
          let handled = 0;
          for (const line of body.split('\n')) {
            if (!line.includes('grpc_method="LeaseKeepAlive"')) continue;
            const value = Number(line.slice(line.lastIndexOf(' ') + 1));
            if (line.startsWith('grpc_server_started_total{')) started = (started ?? 0) + value;
            else if (line.startsWith('grpc_server_handled_total{')) handled += value;
          }
          resolve(started === undefined ? undefined : started - handled);
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

interface Running {
  cell: LeaseCell;
  child: BenchChild;
}

/**
 * Runs the lease group on every server at once. On each server the workers are set up one
 * after the other (so real etcd's stream count can be attributed to each client); then every
 * worker measures the same window; then each checks its leases with the server.
 */
export async function runLeaseGroup(
  repoRoot: string,
  servers: readonly BenchServer[],
  clients: readonly ClientId[],
  plan: LeasePlan,
): Promise<{ cells: LeaseCell[]; serverStreamsMidWindow: Record<string, number> }> {
  const cells: LeaseCell[] = [];
  const running: Running[] = [];
  const setupTimeout = 120_000;
  try {
    await Promise.all(
      servers.map(async (server) => {
        const metrics = server.id === 'etcd';
        let before = metrics ? await openKeepAliveStreams(server.endpoint) : undefined;
        for (const client of clients) {
          const cell: LeaseCell = { server: server.id, client };
          cells.push(cell);
          const child = startBenchChild(repoRoot, WORKER, [
            '--client', client, '--endpoint', server.endpoint,
            '--leases', String(plan.leases), '--ttl', String(plan.ttl), '--seconds', String(plan.seconds),
          ]);
          try {
            await child.ready(setupTimeout);
            running.push({ cell, child });
          } catch (err) {
            cell.error = errorText(err);
            await child.kill();
            continue;
          }
          if (metrics) {
            const now = await openKeepAliveStreams(server.endpoint);
            if (now !== undefined && before !== undefined) cell.serverStreams = now - before;
            before = now;
          }
        }
      }),
    );
    console.log(`  lease: ${running.length} workers set up (${plan.leases} leases each); measuring ${plan.seconds} s`);
    for (const r of running) r.child.send('GO');
    const serverStreamsMidWindow: Record<string, number> = {};
    const mid = new Promise<void>((resolve) =>
      setTimeout(async () => {
        for (const server of servers) {
          if (server.id !== 'etcd') continue;
          const n = await openKeepAliveStreams(server.endpoint);
          if (n !== undefined) serverStreamsMidWindow[server.id] = n;
        }
        resolve();
      }, (plan.seconds * 1000) / 2),
    );
    const windowed = await Promise.all(
      running.map(async (r) => {
        try {
          await r.child.ready(plan.seconds * 1000 + 60_000);
          return r;
        } catch (err) {
          r.cell.error = errorText(err);
          await r.child.kill();
          return undefined;
        }
      }),
    );
    await mid;
    const measured = windowed.filter((r): r is Running => r !== undefined);
    for (const r of measured) r.child.send('GO');
    await Promise.all(
      measured.map(async (r) => {
        try {
          r.cell.result = (await r.child.result(90_000)) as LeaseMeasurement;
          const m = r.cell.result;
          console.log(
            `  lease ${r.cell.server.padEnd(15)} ${r.cell.client.padEnd(8)} ${m.renewals} renewals  ${m.cpuMsPerMinute.toFixed(0)} ms CPU/min  ` +
              `${m.cpuUsPerRenewal?.toFixed(1) ?? '—'} µs/renewal  streams ${m.streamsAtEnd.open} open` +
              `${r.cell.serverStreams !== undefined ? ` (server: ${r.cell.serverStreams})` : ''}  lost ${m.lostInWindow}, missing ${m.missingAtEnd}, min TTL left ${m.minTtlAtEnd} s`,
          );
        } catch (err) {
          r.cell.error = errorText(err);
          console.log(`  lease ${r.cell.server.padEnd(15)} ${r.cell.client.padEnd(8)} failed: ${r.cell.error}`);
        }
      }),
    );
    // Cells in a stable order: server, then client.
    cells.sort((a, b) => servers.findIndex((s) => s.id === a.server) - servers.findIndex((s) => s.id === b.server) || clients.indexOf(a.client) - clients.indexOf(b.client));
    return { cells, serverStreamsMidWindow };
  } finally {
    await Promise.all(running.map((r) => r.child.kill()));
  }
}

export function compareLease(cells: readonly LeaseCell[]): LeaseComparison[] {
  const out: LeaseComparison[] = [];
  for (const server of new Set(cells.map((c) => c.server))) {
    const ours = cells.find((c) => c.server === server && c.client === 'etcdkit')?.result;
    const theirs = cells.find((c) => c.server === server && c.client === 'etcd3')?.result;
    if (!ours || !theirs) continue;
    out.push({
      server,
      cpuRatio: ours.cpuMsPerMinute / theirs.cpuMsPerMinute,
      cpuPerRenewalRatio:
        ours.cpuUsPerRenewal !== null && theirs.cpuUsPerRenewal !== null ? ours.cpuUsPerRenewal / theirs.cpuUsPerRenewal : null,
    });
  }
  return out;
}

export function evaluateLease(cells: readonly LeaseCell[]): LeaseReport['targets'] {
  const ours = cells.flatMap((c) => (c.client === 'etcdkit' && c.result ? [c.result] : []));
  const streams = ours.map((m) => Math.max(m.streamsAtEnd.open, m.streamsOpenedInWindow));
  const lost = ours.map((m) => m.lostInWindow + m.missingAtEnd);
  return {
    leaseStreams: {
      description: 'etcdkit keeps every lease alive over one stream (open streams, and streams opened in the window, at most 1)',
      met: streams.length ? streams.every((n) => n <= 1) : null,
      worst: streams.length ? Math.max(...streams) : null,
    },
    leasesKept: {
      description: 'etcdkit loses no lease in the window (reported lost + missing on the server at the end = 0)',
      met: lost.length ? lost.every((n) => n === 0) : null,
      worst: lost.length ? Math.max(...lost) : null,
    },
  };
}

/** The lease tables, one per server. */
export function formatLease(report: LeaseReport, servers: readonly { id: string; label: string }[]): string[] {
  const lines: string[] = [];
  const widths = [30, 14, 14, 12];
  for (const server of servers) {
    const cell = (client: ClientId) => report.cells.find((c) => c.server === server.id && c.client === client);
    const ours = cell('etcdkit');
    const theirs = cell('etcd3');
    if (!ours && !theirs) continue;
    const cmp = report.comparisons.find((c) => c.server === server.id);
    const f = (c: LeaseCell | undefined, get: (m: LeaseMeasurement) => string) => (c?.result ? get(c.result) : 'failed');
    const { leases, ttl, seconds } = report.plan;
    lines.push('', `lease, ${server.label}: ${int.format(leases)} leases, TTL ${ttl} s, ${seconds} s window`);
    lines.push(row(['', 'etcdkit', 'etcd3', 'ours/etcd3'], widths));
    lines.push(row(['renewals answered (per s)', f(ours, (m) => `${int.format(m.renewals)} (${int.format(m.renewalsPerSec)})`), f(theirs, (m) => `${int.format(m.renewals)} (${int.format(m.renewalsPerSec)})`), ''], widths));
    lines.push(row(['client CPU per minute', f(ours, (m) => `${int.format(m.cpuMsPerMinute)} ms`), f(theirs, (m) => `${int.format(m.cpuMsPerMinute)} ms`), cmp ? cmp.cpuRatio.toFixed(2) : '—'], widths));
    lines.push(row(['  as a share of one core', f(ours, (m) => `${dec.format(m.cpuShareOfCore * 100)} %`), f(theirs, (m) => `${dec.format(m.cpuShareOfCore * 100)} %`), ''], widths));
    lines.push(
      row(
        ['client CPU per renewal',
          f(ours, (m) => (m.cpuUsPerRenewal === null ? '—' : `${dec.format(m.cpuUsPerRenewal)} µs`)),
          f(theirs, (m) => (m.cpuUsPerRenewal === null ? '—' : `${dec.format(m.cpuUsPerRenewal)} µs`)),
          cmp?.cpuPerRenewalRatio == null ? '—' : cmp.cpuPerRenewalRatio.toFixed(2)],
        widths,
      ),
    );
    lines.push(row(['keepalive streams open (client)', f(ours, (m) => int.format(m.streamsAtEnd.open)), f(theirs, (m) => int.format(m.streamsAtEnd.open)), ''], widths));
    if (ours?.serverStreams !== undefined || theirs?.serverStreams !== undefined) {
      const s = (c: LeaseCell | undefined) => (c?.serverStreams === undefined ? '—' : int.format(c.serverStreams));
      lines.push(row(['keepalive streams (etcd metrics)', s(ours), s(theirs), ''], widths));
    }
    lines.push(row(['streams opened in the window', f(ours, (m) => int.format(m.streamsOpenedInWindow)), f(theirs, (m) => int.format(m.streamsOpenedInWindow)), ''], widths));
    lines.push(row(['leases lost / missing at end', f(ours, (m) => `${m.lostInWindow} / ${m.missingAtEnd}`), f(theirs, (m) => `${m.lostInWindow} / ${m.missingAtEnd}`), ''], widths));
    lines.push(row(['  smallest TTL left at end', f(ours, (m) => `${m.minTtlAtEnd} s`), f(theirs, (m) => `${m.minTtlAtEnd} s`), ''], widths));
    lines.push(row(['  check time (1,000 TTL reads)', f(ours, (m) => `${dec.format(m.checkSeconds)} s`), f(theirs, (m) => `${dec.format(m.checkSeconds)} s`), ''], widths));
    const mid = report.serverStreamsMidWindow[server.id];
    if (mid !== undefined) lines.push(`  etcd counted ${int.format(mid)} open LeaseKeepAlive streams in the middle of the window (both clients)`);
    for (const c of [ours, theirs]) if (c?.error) lines.push(`  failed: ${c.client} lease: ${c.error}`);
  }
  return lines;
}
