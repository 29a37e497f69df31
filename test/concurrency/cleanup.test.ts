/**
 * Nothing is left behind: a process that holds locks, has waiters waiting (and some that
 * timed out or were aborted), a campaign pending and an observer running, then closes its
 * client, exits by itself at once. Every pending wait ends with a typed error, the observer
 * completes, and the held lock reports its loss.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachServer } from '../harness/servers.js';
import { now } from './workload.js';
import { WorkerProcess } from './worker-process.js';

/** How long a process may take to exit after closing its client (grpc-js finishes closing sockets). */
const EXIT_BOUND_MS = 1500;

forEachServer('Recipes after client.close()', (ctx) => {
  it('every wait ends, and the process exits without lingering timers or sockets', { timeout: 30_000 }, async (t) => {
    const child = new WorkerProcess('leak-check', { endpoint: ctx.server.endpoint, name: `${ctx.prefix()}leak`, id: 'leak' });
    try {
      const closed = await child.waitFor('closed', (r) => r.ev === 'closed' || r.ev === 'error', 20_000);
      assert.equal(closed.ev, 'closed', JSON.stringify(closed));
      const closedAt = now();
      assert.equal(closed.held, false, 'the held lock reports its loss');
      assert.deepEqual(closed.results, ['SessionExpiredError', 'SessionExpiredError', 'undefined'], 'pending waits end typed; the observer completes');
      const exit = await child.exited;
      assert.equal(exit.code, 0, child.describe());
      assert.ok(now() - closedAt < EXIT_BOUND_MS, `exited ${Math.round(now() - closedAt)} ms after closing`);
      t.diagnostic(`exited ${Math.round(now() - closedAt)} ms after closing its client`);
    } finally {
      await child.kill();
    }
  });
});
