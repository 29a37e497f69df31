/**
 * Runs test/concurrency/worker.ts in a child process and collects its JSON records.
 * Children are tracked by the harness, so none outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OutputTail, trackChild } from '../harness/children.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type Record = { ev: string; id: string } & { [field: string]: unknown };

export class WorkerProcess {
  readonly records: Record[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #stderr = new OutputTail();
  #partial = '';
  readonly #waiters = new Set<() => void>();
  #done = false;

  constructor(mode: 'lock-loop' | 'leader' | 'leak-check', args: object) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'test/concurrency/worker.ts', mode, JSON.stringify(args)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(this.#child);
    this.#child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString()).split('\n');
      this.#partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '') this.records.push(JSON.parse(line) as Record);
      this.#wake();
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#done = true;
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return !this.#done;
  }

  /** Sends `signal` (SIGKILL by default); resolves once the child has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.#done) this.#child.kill(signal);
    await this.exited;
  }

  /** Resolves with the first record matching `ok`; rejects after `timeoutMs` or if the child exits first. */
  waitFor(what: string, ok: (record: Record) => boolean, timeoutMs = 15_000): Promise<Record> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.records.find(ok);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#done) {
          finish();
          reject(new Error(`worker exited before ${what}; ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`worker: no ${what} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  describe(): string {
    return `records: ${JSON.stringify(this.records.slice(-5))}; stderr: ${JSON.stringify(this.#stderr.toString())}`;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
