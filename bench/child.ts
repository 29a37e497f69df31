/** Child-process plumbing for the bench: start, wait for a ready line, run to completion, stop. */
import { spawn, type ChildProcess } from 'node:child_process';

/** The last `max` characters of a stream, kept for error messages. */
class Tail {
  private text = '';
  constructor(private readonly max = 4000) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text.trim();
  }
}

/** A long-running child (a server) with its recent output. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** Recent stdout+stderr, for diagnostics. */
  output(): string;
}

/** Spawns a server process whose output is captured (never inherited). */
export function spawnServer(command: string, args: string[], cwd?: string): ServerProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new Tail();
  child.stdout?.setEncoding('utf8').on('data', (s: string) => tail.push(s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => tail.push(s));
  child.on('error', (err) => tail.push(`\nspawn error: ${err.message}`));
  return { child, output: () => tail.toString() };
}

/** Resolves with the first match of `pattern` in the child's stdout+stderr, or rejects on exit or timeout. */
export function waitForOutput(server: ServerProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const { child } = server;
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string) => {
      seen += String(chunk);
      const match = seen.match(pattern);
      if (match) finish(() => resolve(match));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(() => reject(new Error(`server exited (code ${code}, signal ${signal}) before ready:\n${server.output()}`)));
    const onError = (err: Error) => finish(() => reject(new Error(`server failed to start: ${err.message}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`server not ready after ${timeoutMs} ms:\n${server.output()}`))),
      timeoutMs,
    );
    function finish(settle: () => void): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      settle();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** What a finished short-lived child produced. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a child to completion, killing it after `timeoutMs`. Never rejects. */
export function runChild(command: string, args: string[], timeoutMs: number, cwd?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const stderr = new Tail();
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => stderr.push(`spawn error: ${err.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr.toString(), timedOut });
    });
  });
}
