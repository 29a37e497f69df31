/**
 * Closing a client whose balancer is busy - an endpoint set aside and being probed, a stall
 * being watched, auto-sync running, a watch and a kept-alive lease open - leaves no timer,
 * socket or stream behind. Alone in its file: the resource comparison must not see other
 * tests' clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../../src/client.js';
import { ClientClosedError } from '../../src/errors.js';
import { memberFor, startFakeEtcd } from './fake-etcd.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('closing a client in the middle of failover', { timeout: 30_000 }, () => {
  it('leaves no timer or socket behind', async () => {
    const fakes = [await startFakeEtcd(), await startFakeEtcd(), await startFakeEtcd()];
    const members = fakes.map((f) => memberFor(f.endpoint, f.memberId));
    for (const f of fakes) f.members = members;
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').sort();

    const client = new Client({
      endpoints: fakes.map((f) => f.endpoint),
      unresponsiveMs: 200,
      autoSyncIntervalMs: 100,
      timeoutMs: 60_000,
    });
    const watch = client.watch('w');
    await watch.ready;
    const lease = await client.lease.create(5);
    for (let i = 0; i < 6; i++) await client.kv.get('k');
    fakes[2]!.freeze();
    // Some of these land on the frozen member: a stall is detected, reads move, probes start.
    await Promise.all(Array.from({ length: 6 }, (_, i) => client.kv.get(`k${i}`)));
    // Writes in flight, some of them on the frozen member.
    const pending = Array.from({ length: 3 }, (_, i) => client.kv.put(`pending${i}`, 'v').then(() => undefined, (e: unknown) => e));
    await sleep(150);
    assert.equal(lease.alive, true);

    await client.close();
    await watch.cancel();
    assert.equal(lease.alive, false);
    for (const outcome of await Promise.all(pending)) {
      assert.ok(outcome === undefined || outcome instanceof ClientClosedError, String(outcome));
    }
    await assert.rejects(client.kv.get('k'), ClientClosedError);
    for (let i = 0; i < 100 && process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').length > baseline.length; i++) {
      await sleep(10);
    }
    assert.deepEqual(process.getActiveResourcesInfo().filter((r) => r !== 'Immediate').sort(), baseline);
    for (const f of fakes) await f.close();
  });
});
