/** Starts bench/worker.ts in a fresh process and returns what it measured. */
import { runChild } from './child.js';

/**
 * Runs `node --expose-gc --import tsx bench/worker.ts ...args` from `repoRoot` and returns its
 * `RESULT` line, parsed. Relays the worker's `warning:` lines; rejects with the worker's own
 * error message when it fails or times out.
 */
export async function runWorker(repoRoot: string, args: string[], timeoutMs: number): Promise<unknown> {
  const run = await runChild(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/worker.ts', ...args], timeoutMs, repoRoot);
  for (const line of run.stderr.split('\n')) if (line.startsWith('warning:')) console.log(`  ${line}`);
  if (run.timedOut) throw new Error(`worker timed out after ${timeoutMs} ms`);
  const resultLine = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (run.code !== 0 || !resultLine) {
    const lines = run.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('warning:'));
    // Node prints an uncaught error as `Name: message` at the start of a line, after the source excerpt.
    const reason = lines.find((l) => /^[A-Z]\w*(Error|Exception)\b/.test(l)) ?? lines.at(-1) ?? 'no output';
    throw new Error(`worker exited with code ${run.code}: ${reason.trim()}`);
  }
  return JSON.parse(resultLine.slice('RESULT '.length));
}
