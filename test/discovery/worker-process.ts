/**
 * Runs test/discovery/worker.ts in a child process and collects its JSON records. Children
 * are tracked by the harness, so none outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OutputTail, trackChild } from '../harness/children.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type WorkerRecord = { ev: string } & { [field: string]: unknown };

export interface WorkerArgs {
  endpoint: string;
  service: string;
  addr: string;
  ttl: number;
  metadata?: unknown;
}

/** One worker process. */
export class WorkerProcess {
  readonly records: WorkerRecord[] = [];
  readonly exited: Promise<void>;
  readonly #child: ChildProcess;
  readonly #stderr = new OutputTail();
  readonly #waiters = new Set<() => void>();
  #partial = '';
  #done = false;

  constructor(args: WorkerArgs) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', 'test/discovery/worker.ts', JSON.stringify(args)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(this.#child);
    this.#child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (this.#partial + chunk.toString()).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.records.push(JSON.parse(line) as WorkerRecord);
      this.#wake();
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', () => {
        this.#done = true;
        this.#wake();
        resolve();
      });
    });
  }

  /** Sends `signal` (SIGKILL by default); resolves once the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.#done) this.#child.kill(signal);
    await this.exited;
  }

  /** Resolves with the first record of kind `ev`; rejects after `timeoutMs` or when the process exits first. */
  waitFor(ev: string, timeoutMs = 20_000): Promise<WorkerRecord> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = () => {
        const found = this.records.find((record) => record.ev === ev);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#done) {
          finish();
          reject(new Error(`worker exited before "${ev}"; ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`worker: no "${ev}" within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
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
