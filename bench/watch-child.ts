/**
 * A bench worker process that talks to the runner while it runs (used by the watch and lease
 * groups): it prints `READY ...` lines when a phase is set up, may wait for a `GO` line on its
 * stdin, and ends with one `RESULT {json}` line, like bench/worker.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface BenchChild {
  /** Resolves with the text after `READY` on the next READY line (rejects on exit or timeout). */
  ready(timeoutMs: number): Promise<string>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  /** Resolves with the parsed RESULT line once the child exits; rejects with its error or on timeout (the child is killed). */
  result(timeoutMs: number): Promise<unknown>;
  /** Kills the child (SIGKILL) if it is still running; resolves once it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts `node --expose-gc --import tsx <script> ...args` from `repoRoot`. The child's stderr
 * `warning:` lines are relayed to the console.
 */
export function startBenchChild(repoRoot: string, script: string, args: string[]): BenchChild {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', script, ...args],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let readLines = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-8000);
  });
  child.stdin.on('error', () => undefined); // the child may exit before reading it
  let exited = false;
  let exitCode: number | null = null;
  const exit = new Promise<void>((resolve) => {
    child.on('close', (code) => {
      exited = true;
      exitCode = code;
      wake();
      resolve();
    });
    child.on('error', (err) => {
      stderr += `\nspawn error: ${err.message}`;
    });
  });

  const failure = (what: string) => {
    const lines = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('warning:'));
    const reason = lines.find((l) => /^[A-Z]\w*(Error|Exception)\b/.test(l)) ?? lines.at(-1) ?? 'no output';
    return new Error(`${script} ${what} (code ${exitCode}): ${reason.trim()}`);
  };

  const relayWarnings = () => {
    for (const line of stderr.split('\n')) if (line.startsWith('warning:')) console.log(`  ${line}`);
  };

  return {
    ready(timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const lines = stdout.split('\n');
          // Only complete lines (the last element is the unfinished rest).
          const readyLines = lines.slice(0, -1).filter((l) => l.startsWith('READY'));
          if (readyLines.length > readLines) {
            const line = readyLines[readLines]!;
            readLines++;
            done();
            resolve(line.slice('READY'.length).trim());
          } else if (exited) {
            done();
            reject(failure('exited before it was ready'));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${script} not ready after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(line) {
      if (!exited) child.stdin.write(`${line}\n`);
    },
    async result(timeoutMs) {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      await exit;
      clearTimeout(timer);
      relayWarnings();
      if (timedOut) throw new Error(`${script} timed out after ${timeoutMs} ms`);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (exitCode !== 0 || !line) throw failure('failed');
      return JSON.parse(line.slice('RESULT '.length));
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

/** In a worker: resolves when the runner writes `GO` on stdin (or rejects after `timeoutMs`). */
export function waitForGo(timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string) => {
      buffered += String(chunk);
      if (buffered.split('\n').some((l) => l.trim() === 'GO')) finish(resolve);
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no GO from the runner within ${timeoutMs} ms`))), timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      process.stdin.off('data', onData);
      process.stdin.pause();
      // A paused stdin pipe would still keep the process alive once the worker is done.
      (process.stdin as { unref?: () => void }).unref?.();
      settle();
    };
    process.stdin.on('data', onData);
    (process.stdin as { ref?: () => void }).ref?.();
    process.stdin.resume();
  });
}
