/**
 * client.close() with watches open, waiting and reconnecting: every iterator completes and
 * no timer or socket stays behind. Alone in its file: the resource comparison must not see
 * other tests' clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../../src/index.js';
import { startServer } from '../../src/server/index.js';
import { failOnUnhandled, sleep, until } from './helpers.js';

const settledResources = () => process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').sort();

describe('watch: client close', { timeout: 30_000 }, () => {
  failOnUnhandled();

  it('completes every watch and leaves no timer or socket behind', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0 });
    const baseline = settledResources();
    const doomed = await startServer({ host: '127.0.0.1', port: 0 });

    const live = new Client({ endpoints: [server.endpoint] });
    const reconnecting = new Client({ endpoints: [doomed.endpoint], dialTimeoutMs: 200 });
    const watches = [
      live.watch('a'),
      live.watch('b/', { prefix: true, progressNotify: true }),
      reconnecting.watch('c'),
      reconnecting.watch('d', { onCompacted: 'resync' }),
    ];
    await Promise.all(watches.map((w) => w.ready));
    const pending = watches.map((w) => w[Symbol.asyncIterator]().next());
    const disconnected: unknown[] = [];
    watches[2]!.on('disconnected', (e) => disconnected.push(e));
    // The second client's server goes away for good: its watches keep reconnecting with backoff.
    await doomed.close();
    await until(() => disconnected.length > 0, () => 'no disconnect seen');
    await sleep(300);
    assert.equal(watches[2]!.ended, false, 'a created watch survives its server going away');

    await Promise.all([live.close(), reconnecting.close()]);
    for (const result of await Promise.all(pending)) assert.deepEqual(result, { done: true, value: undefined });
    assert.ok(watches.every((w) => w.ended));

    for (let i = 0; i < 100 && settledResources().length > baseline.length; i++) await sleep(10);
    assert.deepEqual(settledResources(), baseline);
    await server.close();
  });
});
