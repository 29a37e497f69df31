/**
 * A real multi-member etcd cluster (the Debian binary, /usr/bin/etcd) on loopback, for
 * failover tests: free client and peer ports, one temporary data dir per member, a static
 * `--initial-cluster`. Each member can be killed, started again on its data dir, paused with
 * SIGSTOP and resumed. Every wait is bounded; every process and data dir is removed by
 * `close()`, and at process exit in any case (children.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputTail, removeTempDir, sleep, terminate, trackChild, trackTempDir } from './children.js';
import { freePorts } from './ports.js';
import { ETCD_BIN, REAL_ETCD_LABEL } from './real-etcd.js';

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

/** Why a real cluster cannot run here, or `undefined` when the etcd binary is installed. */
export function etcdClusterAvailable(): string | undefined {
  try {
    accessSync(ETCD_BIN, constants.X_OK);
    return undefined;
  } catch {
    return `${ETCD_BIN} is not installed (apt-get install etcd-server)`;
  }
}

export interface RealClusterOptions {
  /** Number of members (default 3). */
  size?: number;
  /** Bound on every readiness wait in ms (default 20 000). */
  readyTimeoutMs?: number;
  /** Extra flags for every member. */
  extraArgs?: string[];
}

/** One member of a {@link RealCluster}. */
export interface RealClusterMember {
  readonly index: number;
  readonly name: string;
  /** `127.0.0.1:PORT` (client port). */
  readonly endpoint: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dataDir: string;
  /** True while its process runs (paused or not). */
  readonly running: boolean;
  /** True between `pause()` and `resume()`. */
  readonly paused: boolean;
  /** Kills the process (SIGKILL by default) and waits for it to exit. No-op when stopped. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on its data dir; resolves once it reports healthy (bounded). */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): its sockets stay open, nothing is answered. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
}

export interface RealCluster {
  readonly label: string;
  readonly members: readonly RealClusterMember[];
  /** Every member's `host:port`. */
  readonly endpoints: string[];
  /** Waits (bounded) until every running, unpaused member reports healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every member and removes the data dirs. Idempotent; works in any state. */
  close(): Promise<void>;
}

function dataDirRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

interface Launch {
  readonly child: ChildProcess;
  readonly output: OutputTail;
}

function launch(args: string[]): Launch {
  const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const output = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  child.on('error', (err) => output.push(`\nspawn error: ${err.message}\n`));
  return { child, output };
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Polls /health until the member is healthy (it has a leader), it exits, or the bound passes. */
async function waitMemberHealthy(url: string, launched: Launch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'no answer yet';
  while (Date.now() < deadline) {
    if (exited(launched.child)) {
      throw new Error(`etcd at ${url} exited (code ${launched.child.exitCode}, signal ${launched.child.signalCode}); output:\n${launched.output.toString()}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.ok && body.includes('"true"')) return;
      problem = `/health answered ${res.status} ${body.trim()}`;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    await sleep(50);
  }
  throw new Error(`etcd at ${url} not healthy within ${timeoutMs} ms (${problem}); output:\n${launched.output.toString()}`);
}

class Member implements RealClusterMember {
  #launch: Launch | undefined;
  #paused = false;
  constructor(
    readonly index: number,
    readonly name: string,
    readonly url: string,
    readonly dataDir: string,
    readonly args: string[],
    private readonly readyTimeoutMs: number,
  ) {}

  get endpoint(): string {
    return this.url.slice('http://'.length);
  }

  get running(): boolean {
    return this.#launch !== undefined && !exited(this.#launch.child);
  }

  get paused(): boolean {
    return this.#paused && this.running;
  }

  get output(): string {
    return this.#launch?.output.toString() ?? '';
  }

  spawn(): Launch {
    this.#paused = false;
    this.#launch = launch(this.args);
    return this.#launch;
  }

  async waitHealthy(timeoutMs = this.readyTimeoutMs): Promise<void> {
    if (this.#launch === undefined) throw new Error(`${this.name} is not started`);
    await waitMemberHealthy(this.url, this.#launch, timeoutMs);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const launched = this.#launch;
    if (launched === undefined || exited(launched.child)) return;
    const gone = new Promise<void>((resolve) => launched.child.once('exit', () => resolve()));
    launched.child.kill(signal);
    if (signal !== 'SIGKILL') launched.child.kill('SIGCONT');
    await Promise.race([gone, sleep(STOP_GRACE_MS)]);
    if (!exited(launched.child)) await terminate(launched.child, 0);
    this.#paused = false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const launched = this.spawn();
    try {
      await waitMemberHealthy(this.url, launched, this.readyTimeoutMs);
    } catch (err) {
      await terminate(launched.child, STOP_GRACE_MS);
      throw err;
    }
  }

  pause(): void {
    if (!this.running) return;
    this.#launch!.child.kill('SIGSTOP');
    this.#paused = true;
  }

  resume(): void {
    if (this.#launch === undefined) return;
    this.#launch.child.kill('SIGCONT');
    this.#paused = false;
  }

  async close(): Promise<void> {
    if (this.#launch !== undefined) await terminate(this.#launch.child, STOP_GRACE_MS);
  }
}

/** Starts a fresh N-member cluster on loopback and waits until every member is healthy. */
export async function startRealCluster(options: RealClusterOptions = {}): Promise<RealCluster> {
  const reason = etcdClusterAvailable();
  if (reason !== undefined) throw new Error(`cannot start a real etcd cluster: ${reason}`);
  const size = options.size ?? 3;
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const ports = await freePorts(size * 2);
    const token = `etcdkit-${process.pid}-${Date.now()}`;
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[size + i]}`);
    const initialCluster = names.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    const members = names.map((name, i) => {
      const dataDir = mkdtempSync(join(dataDirRoot(), `etcdkit-cluster-${name}-`));
      trackTempDir(dataDir);
      const url = `http://127.0.0.1:${ports[i]}`;
      const args = [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peerUrls[i]!,
        '--initial-advertise-peer-urls', peerUrls[i]!,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--logger', 'zap',
        '--log-outputs', 'stderr',
        '--log-level', 'error',
        ...(options.extraArgs ?? []),
      ];
      return new Member(i, name, url, dataDir, args, readyTimeoutMs);
    });
    for (const member of members) member.spawn();
    try {
      await Promise.all(members.map((m) => m.waitHealthy()));
      return makeCluster(members, readyTimeoutMs);
    } catch (err) {
      lastError = err;
      await Promise.all(members.map((m) => m.close()));
      for (const m of members) removeTempDir(m.dataDir);
      if (!members.some((m) => m.output.includes('address already in use'))) break;
    }
  }
  throw lastError;
}

function makeCluster(members: Member[], readyTimeoutMs: number): RealCluster {
  let closed = false;
  return {
    label: `${REAL_ETCD_LABEL} x${members.length}`,
    members,
    endpoints: members.map((m) => m.endpoint),
    async waitHealthy(timeoutMs = readyTimeoutMs) {
      await Promise.all(members.filter((m) => m.running && !m.paused).map((m) => m.waitHealthy(timeoutMs)));
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(members.map((m) => m.close()));
      for (const m of members) removeTempDir(m.dataDir);
    },
  };
}
