import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, ClientClosedError } from '../../src/index.js';
import { freePort } from '../harness/ports.js';
import { startFakeKv } from './fake-kv.js';

// Alone in its file: the resource comparison must not see other tests' clients.
const kv1 = { ok: { count: 1n } };

describe('close', { timeout: 20_000 }, () => {
  it('fails calls in flight and later calls, and leaves no timer or socket behind', async () => {
    const server = await startFakeKv((method) => (method === 'Compact' ? kv1 : 'hang'));
    const dead = `127.0.0.1:${await freePort()}`;
    const baseline = process.getActiveResourcesInfo().sort();
    const c = new Client({ endpoints: [server.endpoint], timeoutMs: 60_000 });
    const waiting = new Client({ endpoints: [dead], dialTimeoutMs: 60_000, timeoutMs: 60_000 });
    await c.kv.compact(1);
    const pending = [
      assert.rejects(c.kv.get('k'), ClientClosedError),
      assert.rejects(c.kv.put('k', 'v'), ClientClosedError),
      assert.rejects(waiting.kv.get('k'), ClientClosedError),
    ];
    assert.ok(process.getActiveResourcesInfo().length > baseline.length, 'calls hold resources while pending');
    await Promise.all([c.close(), waiting.close()]);
    await Promise.all(pending);
    await assert.rejects(c.kv.get('k'), ClientClosedError);
    await c.close(); // idempotent
    assert.equal(c.closed, true);
    // Sockets finish closing once the peer acknowledges; allow a bounded number of turns.
    for (let i = 0; i < 100 && process.getActiveResourcesInfo().length > baseline.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(
      process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').sort(),
      baseline.filter((r) => r !== 'Immediate'),
    );
    await server.close();
  });
});
