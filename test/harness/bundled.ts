/**
 * Starts the bundled server (etcdkit/server) for tests, with the same handle shape as
 * real-etcd.ts. By default it runs in this process (fast, restartable with its store kept);
 * `inProcess: false` runs the CLI (`etcdkit serve`) as a child process, which is what
 * pause()/resume() (SIGSTOP/SIGCONT) need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ServerHandle } from './handle.js';
import { OutputTail, terminate, trackChild } from './children.js';
import { freePort } from './ports.js';

export const BUNDLED_LABEL = 'bundled';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 15_000;

export interface BundledOptions {
  /** Run the CLI in a child process instead of in this process (default false). */
  inProcess?: boolean;
  /** Readiness bound for the child-process mode (default 15 000 ms). */
  readyTimeoutMs?: number;
}

export interface BundledHandle extends ServerHandle {
  readonly kind: 'bundled';
  readonly port: number;
  /** The child process in child-process mode, else `undefined`. */
  readonly process: ChildProcess | undefined;
}

/** Starts a fresh bundled server on a free loopback port. */
export async function startBundled(opts: BundledOptions = {}): Promise<BundledHandle> {
  return opts.inProcess === false ? startChildProcess(opts.readyTimeoutMs ?? READY_TIMEOUT_MS) : startInProcess();
}

async function startInProcess(): Promise<BundledHandle> {
  const { startServer } = await import('../../src/server/index.js');
  const server = await startServer({ host: '127.0.0.1', port: 0 });
  let stopped = false;
  return {
    kind: 'bundled',
    label: BUNDLED_LABEL,
    endpoint: server.endpoint,
    url: server.url,
    port: server.port,
    process: undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
    async restart() {
      if (stopped) throw new Error('restart(): this bundled server was stopped for good');
      await server.stop();
      await server.start();
    },
    pause() {
      throw new Error('pause() needs the bundled server in a child process: startBundled({ inProcess: false })');
    },
    resume() {
      throw new Error('resume() needs the bundled server in a child process: startBundled({ inProcess: false })');
    },
  };
}

async function startChildProcess(readyTimeoutMs: number): Promise<BundledHandle> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/bin/etcdkit.ts', 'serve', '--listen-client-urls', url],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackChild(child);
  const output = new OutputTail();
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  try {
    await waitForReadyLine(child, url, output, readyTimeoutMs);
  } catch (err) {
    await terminate(child);
    throw err;
  }
  let stopped = false;
  return {
    kind: 'bundled',
    label: BUNDLED_LABEL,
    endpoint: `127.0.0.1:${port}`,
    url,
    port,
    process: child,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child);
    },
    async restart() {
      throw new Error('restart() keeps the store only in-process: use startBundled() without inProcess: false');
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
  };
}

function waitForReadyLine(child: ChildProcess, url: string, output: OutputTail, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.off('line', onLine);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout!.resume();
      if (err) reject(err);
      else resolve();
    };
    const onLine = (line: string) => {
      output.push(`${line}\n`);
      if (line.includes(url)) finish();
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`etcdkit serve exited before ready (code ${code}, signal ${signal}); output:\n${output}`));
    const timer = setTimeout(
      () => finish(new Error(`etcdkit serve printed no ready line with ${url} within ${timeoutMs} ms; output:\n${output}`)),
      timeoutMs,
    );
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}
