/**
 * A long-running etcdctl child (`etcdctl watch`, `etcdctl lease keep-alive`) for the interop
 * tests: its stdout is collected line by line, callers wait for lines with a time bound, and
 * `stop()` kills it (SIGTERM, then SIGKILL after a grace period) and waits for the exit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ETCDCTL_BIN } from '../harness/real-etcd.js';
import { OutputTail, terminate, trackChild } from '../harness/children.js';

const DEFAULT_WAIT_MS = 10_000;

export class LongEtcdctl {
  /** Every complete stdout line so far (without the newline). */
  readonly lines: string[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderr = new OutputTail();
  readonly #args: string[];
  #partial = '';
  #waiters = new Set<() => void>();
  #exited = false;

  constructor(endpoint: string, args: string[]) {
    this.#args = args;
    this.#child = spawn(ETCDCTL_BIN, [`--endpoints=${endpoint}`, '--dial-timeout=3s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(this.#child);
    this.#child.stdout.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString()).split('\n');
      this.#partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.#wake();
    });
    this.#child.stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    this.#child.stdin.on('error', () => {
      // etcdctl may exit before reading its input; the exit and stderr report that.
    });
    this.#child.once('close', () => {
      this.#exited = true;
      this.#wake();
    });
    this.#child.once('error', (err) => {
      this.#stderr.push(`\nspawn error: ${err.message}\n`);
      this.#exited = true;
      this.#wake();
    });
  }

  /** Writes a line to etcdctl's stdin (interactive modes). */
  writeLine(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** Whether the process has exited and its output is fully read. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The exit code once exited (`null` while running or when killed by a signal). */
  get exitCode(): number | null {
    return this.#child.exitCode;
  }

  /** The last few KiB of stderr. */
  get stderr(): string {
    return this.#stderr.toString();
  }

  /** Resolves once `ok(lines)` holds; rejects after `timeoutMs` or if etcdctl exits first. */
  waitUntil(what: string, ok: (lines: readonly string[]) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ok(this.lines)) {
          done();
          resolve();
        } else if (this.#exited) {
          done();
          reject(new Error(`etcdctl ${this.#args.join(' ')} exited before ${what}; ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`etcdctl ${this.#args.join(' ')}: no ${what} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits until at least `n` lines were printed. */
  waitForLines(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.waitUntil(`${n} lines`, (lines) => lines.length >= n, timeoutMs);
  }

  /** Kills etcdctl (bounded) and resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    this.#child.stdin.end();
    await terminate(this.#child, 2000);
  }

  /** The output so far, for assertion messages. */
  describe(): string {
    return `stdout lines: ${JSON.stringify(this.lines)}; stderr tail: ${JSON.stringify(this.#stderr.toString())}`;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
