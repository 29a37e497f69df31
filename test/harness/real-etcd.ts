/**
 * Starts the real etcd binary (3.4.23 from Debian, /usr/bin/etcd) on free loopback ports with
 * a fresh temporary data dir, for conformance tests. Every started process is killed when the
 * test process exits, even if a test forgets to stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerHandle } from './handle.js';
import { OutputTail, removeTempDir, sleep, terminate, trackChild, trackTempDir } from './children.js';
import { freePorts } from './ports.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';
export const REAL_ETCD_LABEL = 'etcd 3.4.23';

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/** Why real etcd tests cannot run here, or `undefined` when etcd and etcdctl are installed. */
export function etcdAvailable(): string | undefined {
  for (const bin of [ETCD_BIN, ETCDCTL_BIN]) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return `${bin} is not installed (apt-get install etcd-server etcd-client)`;
    }
  }
  return undefined;
}

export interface RealEtcdOptions {
  /** Member name (default `etcdkit-test`). */
  name?: string;
  /** Extra command-line flags, e.g. `['--auto-compaction-retention', '1']`. */
  extraArgs?: string[];
  /** Readiness bound in ms (default 15 000). */
  readyTimeoutMs?: number;
}

export interface RealEtcdHandle extends ServerHandle {
  readonly kind: 'etcd';
  /** The data directory (removed by `stop()`). */
  readonly dataDir: string;
  /** The running child process (replaced by `restart()`). */
  readonly process: ChildProcess;
}

interface Launch {
  child: ChildProcess;
  stderr: OutputTail;
}

function launch(args: string[]): Launch {
  const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const stderr = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.on('error', (err) => stderr.push(`\nspawn error: ${err.message}\n`));
  return { child, stderr };
}

/** Where data dirs go: /dev/shm when writable (etcd fsyncs every write), else the OS temp dir. */
function dataDirRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Polls GET /health until etcd reports healthy, the process dies, or the bound passes. */
async function waitReady(url: string, launched: Launch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    const { child } = launched;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `etcd exited before becoming ready (code ${child.exitCode}, signal ${child.signalCode}); ` +
          `output tail:\n${launched.stderr.toString()}`,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.ok && body.includes('"true"')) return;
      lastProblem = `/health answered ${res.status} ${body.trim()}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    await sleep(50);
  }
  throw new Error(
    `etcd did not become ready within ${timeoutMs} ms (${lastProblem}); output tail:\n${launched.stderr.toString()}`,
  );
}

/** Starts a fresh single-member etcd on loopback and waits until it serves requests. */
export async function startRealEtcd(opts: RealEtcdOptions = {}): Promise<RealEtcdHandle> {
  const reason = etcdAvailable();
  if (reason !== undefined) throw new Error(`cannot start real etcd: ${reason}`);
  const name = opts.name ?? 'etcdkit-test';
  const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const dataDir = mkdtempSync(join(dataDirRoot(), 'etcdkit-etcd-'));
  trackTempDir(dataDir);

  // The free ports can be taken by someone else before etcd binds them; retry on new ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [clientPort, peerPort] = await freePorts(2);
    const url = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const args = [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'error',
      ...(opts.extraArgs ?? []),
    ];
    const launched = launch(args);
    try {
      await waitReady(url, launched, readyTimeoutMs);
      return makeHandle({ url, port: clientPort, dataDir, args, launched, readyTimeoutMs });
    } catch (err) {
      lastError = err;
      await terminate(launched.child, STOP_GRACE_MS);
      if (!launched.stderr.toString().includes('address already in use')) break;
    }
  }
  removeTempDir(dataDir);
  throw lastError;
}

function makeHandle(init: {
  url: string;
  port: number;
  dataDir: string;
  args: string[];
  launched: Launch;
  readyTimeoutMs: number;
}): RealEtcdHandle {
  let current = init.launched;
  let stopped = false;
  const handle: RealEtcdHandle = {
    kind: 'etcd',
    label: REAL_ETCD_LABEL,
    endpoint: `127.0.0.1:${init.port}`,
    url: init.url,
    dataDir: init.dataDir,
    get process() {
      return current.child;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(current.child, STOP_GRACE_MS);
      removeTempDir(init.dataDir);
    },
    async restart() {
      if (stopped) throw new Error('restart(): this etcd was stopped for good');
      await terminate(current.child, STOP_GRACE_MS);
      current = launch(init.args);
      try {
        await waitReady(init.url, current, init.readyTimeoutMs);
      } catch (err) {
        await terminate(current.child, STOP_GRACE_MS);
        throw err;
      }
    },
    pause() {
      current.child.kill('SIGSTOP');
    },
    resume() {
      current.child.kill('SIGCONT');
    },
  };
  return handle;
}
