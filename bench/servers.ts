/**
 * The servers the bench runs against, each in its own process so that server CPU never shows
 * up in the client's numbers: the bundled etcdkit server (through the CLI) and, when installed,
 * a real etcd on free loopback ports with a throw-away data dir.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnServer, stopProcess, waitForOutput, runChild } from './child.js';
import { freePorts } from './ports.js';

/** A running server the bench can point clients at. */
export interface BenchServer {
  /** Short id used in results (`etcdkit-server`, `etcd`). */
  readonly id: string;
  /** Human label, with version. */
  readonly label: string;
  /** `127.0.0.1:PORT`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Default path of the real etcd binary (Debian package `etcd-server`). */
export const ETCD_BINARY = '/usr/bin/etcd';

/** Starts `etcdkit serve` as a child process and waits for its ready line. */
export async function startBundledServer(repoRoot: string): Promise<BenchServer> {
  const [port] = await freePorts(1);
  const proc = spawnServer(
    process.execPath,
    ['--import', 'tsx', 'src/bin/etcdkit.ts', 'serve', '--listen-client-urls', `http://127.0.0.1:${port}`],
    repoRoot,
  );
  try {
    const match = await waitForOutput(proc, /http:\/\/127\.0\.0\.1:(\d+)/, 20_000);
    return {
      id: 'etcdkit-server',
      label: 'etcdkit bundled server',
      endpoint: `127.0.0.1:${match[1]}`,
      stop: () => stopProcess(proc.child),
    };
  } catch (err) {
    await stopProcess(proc.child);
    throw err;
  }
}

/** Starts a single-member etcd on free loopback client and peer ports with a temporary data dir. */
export async function startRealEtcd(binary = ETCD_BINARY): Promise<BenchServer> {
  const [clientPort, peerPort] = await freePorts(2);
  // A RAM-backed data dir keeps fsync cost (a disk property, not a client one) out of the way.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dataDir = await mkdtemp(join(base, 'etcdkit-bench-'));
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = spawnServer(binary, [
    '--name', 'bench',
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `bench=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-level', 'error',
  ]);
  const stop = async () => {
    await stopProcess(proc.child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(clientPort, proc.child, 20_000);
    const version = await etcdVersion(binary);
    return { id: 'etcd', label: `etcd ${version}`, endpoint: `127.0.0.1:${clientPort}`, stop };
  } catch (err) {
    await stop();
    throw new Error(`etcd did not become healthy: ${(err as Error).message}\n${proc.output()}`);
  }
}

async function etcdVersion(binary: string): Promise<string> {
  const run = await runChild(binary, ['--version'], 5000);
  return /etcd Version:\s*(\S+)/.exec(run.stdout)?.[1] ?? 'unknown';
}

/** Polls etcd's `GET /health` until it answers `"health":"true"` (bounded by `timeoutMs`). */
async function waitForHealth(port: number, child: { exitCode: number | null }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd exited with code ${child.exitCode}`);
    if (await healthy(port)) return;
    await sleep(100);
  }
  throw new Error(`no healthy answer within ${timeoutMs} ms`);
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
