/**
 * Tracks every child process and temporary directory the harness creates, and kills/removes
 * them when the test process exits for any reason (normal exit, uncaught error, SIGINT,
 * SIGTERM, SIGHUP), so no server outlives a test file.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

function cleanupNow(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupNow();
      // Re-raise with the default disposition so the exit status stays honest.
      process.kill(process.pid, signal);
    });
  }
}

/** Registers a child so it is SIGKILLed if the test process exits while it runs. */
export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers a temporary directory to remove at exit (unless released first). */
export function trackTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

/** Removes a temporary directory now and forgets it. */
export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** A bounded ring of the last bytes a stream produced, for error messages. */
export class OutputTail {
  #text = '';
  constructor(private readonly limit = 4096) {}
  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.limit);
  }
  toString(): string {
    return this.#text;
  }
}

/**
 * Sends SIGTERM (and SIGCONT, in case it is paused), waits up to `graceMs` for the exit, then
 * SIGKILLs and waits again. Resolves once the process has exited.
 */
export async function terminate(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  child.kill('SIGCONT');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Sleeps for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
