/**
 * The README's `npm run demo` must keep working: run it and check what it prints.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('the demo runs against the bundled server and exits 0', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  assert.equal(run.status, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  const out = run.stdout;
  assert.match(out, /^get +greeting → "hello, etcd"/m);
  assert.match(out, /^txn +if config\/color == "blue" then put "green" → swapped/m);
  assert.match(out, /^watch +delete jobs\/1/m);
  assert.match(out, /^lease +jobs\/heartbeat expired after/m);
  assert.match(out, /^campaign +bob elected after alice resigned/m);
  assert.match(out, /^discovery +removed 10\.0\.0\.2:8080/m);
  assert.match(out, /^done +client and server closed/m);
});
