// Runs every test/**/*.test.ts file with node's built-in test runner (TypeScript through tsx).
// Node 20 has no glob support in `node --test`, so the file list is gathered here.
// Usage: node scripts/test.mjs [substring filter ...]
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test', f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// No single test may hang the run: each test has a timeout, and the whole run a hard bound.
const TEST_TIMEOUT_MS = 180_000;
const RUN_BOUND_MS = 15 * 60_000;
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files],
  { stdio: 'inherit', detached: true },
);
const bound = setTimeout(() => {
  console.error(`test run exceeded ${RUN_BOUND_MS / 60_000} minutes: stopping it`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  process.exit(1);
}, RUN_BOUND_MS);
bound.unref();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      child.kill(sig);
    }
  });
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
